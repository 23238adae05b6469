// origincert dashboard: follow a running job's progress lines, then show its result.
// No build step; the page works without it (reload to see progress).
(function () {
  "use strict";

  function follow(panel) {
    var id = panel.getAttribute("data-job-id");
    var list = document.getElementById("job-lines");
    var badge = document.getElementById("job-status");
    var seen = list ? list.children.length : 0;

    function poll() {
      fetch("/api/v1/jobs/" + encodeURIComponent(id) + "?since=" + seen,
            {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (job) {
          if (!job) { setTimeout(poll, 2000); return; }
          job.lines.forEach(function (line) {
            var item = document.createElement("li");
            item.textContent = line;
            list.appendChild(item);
          });
          seen = job.line_count;
          badge.textContent = job.status;
          if (job.status === "succeeded" || job.status === "failed") {
            window.location.reload();  // the server renders the result or the failure
          } else {
            setTimeout(poll, 400);
          }
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("job");
    if (panel) {
      var status = panel.getAttribute("data-status");
      if (status === "queued" || status === "running") { follow(panel); }
    }
  });
})();
