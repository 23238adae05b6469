"""Validate sandbox responses against the 2024 OpenAPI subset in shared/.

Where the 2024 document is stale or self-contradictory, the fact sheet
(shared/docs/cloudflare-api.md §13) wins. Each such case is one narrow, named exception
below, never a skip:

- STALE_CERT_ID: the 2024 spec caps an Origin CA `id` at 32 characters, but an id is the
  certificate's serial; a 20-byte serial in decimal runs to 49 digits and the fact sheet
  (§1.3) notes the cap is probably not enforced. Only that `maxLength` is dropped.
- CONTRADICTORY_FAILURE: several 2024 failure schemas are `allOf: [<success envelope>,
  <common failure>]`; the success envelope pins `success: true` and the failure one
  `success: false`, so nothing can match both. Error bodies are validated against the
  operation's own common-failure component alone.
- OVERLAPPING_ONEOF: the `/ips` result is `oneOf: [ips, ips_jdcloud]`, but the second
  only adds an optional `jdcloud_cidrs`, so every plain answer matches both and `oneOf`
  fails. That one `oneOf` is read as `anyOf`.
- UNDECLARED_STATUS: the spec declares only `200` and `4XX`; 5xx (injected failures,
  internal errors) and errors on routes the spec does not have (unknown URIs) are
  validated against the common failure envelope of the same API family.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

API_PREFIX = "/client/v4"
STALE_CERT_ID = "tls-certificates-and-hostnames_identifier"
GENERIC_FAILURE = "#/components/schemas/zones_api-response-common-failure"


class ContractError(AssertionError):
    pass


class Contract:
    def __init__(self, spec_path: Path) -> None:
        spec = json.loads(Path(spec_path).read_text())
        self.components = copy.deepcopy(spec["components"])
        # STALE_CERT_ID (see the module docstring).
        self.components["schemas"][STALE_CERT_ID].pop("maxLength", None)

        # OVERLAPPING_ONEOF (see the module docstring).
        ips = spec["paths"]["/ips"]["get"]["responses"]["200"]["content"]["application/json"]
        for part in ips["schema"]["allOf"]:
            result = part.get("properties", {}).get("result", {})
            if "oneOf" in result:
                result["anyOf"] = result.pop("oneOf")

        self.operations: list[tuple[re.Pattern, str, str, dict]] = []
        for template, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "/?$")
            for method, operation in item.items():
                if isinstance(operation, dict) and "responses" in operation:
                    self.operations.append((pattern, method.upper(), template, operation))
        # Literal paths before templated ones (/settings/x before /settings/{id}).
        self.operations.sort(key=lambda op: op[2].count("{"))
        self.checked: list[tuple[str, str, int]] = []
        self._validators: dict[str, OAS30ReadValidator] = {}

    def operation(self, method: str, path: str) -> tuple[str, dict] | None:
        relative = path.removeprefix(API_PREFIX)
        for pattern, op_method, template, operation in self.operations:
            if op_method == method and pattern.match(relative):
                return template, operation
        return None

    def schema_for(self, method: str, path: str, status: int) -> dict:
        found = self.operation(method, path)
        if found is None:
            return {"$ref": GENERIC_FAILURE}  # UNDECLARED_STATUS (unknown route)
        _, operation = found
        responses = operation["responses"]

        if status < 400:
            key = str(status)
        elif str(status) in responses:
            key = str(status)
        else:
            key = "4XX"  # UNDECLARED_STATUS for 5xx/429 reuses the family's failure part
        schema = responses[key]["content"]["application/json"]["schema"]
        if status >= 400:
            schema = _failure_part(schema)
        return schema

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        schema = self.schema_for(method, path, status)
        cache_key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(cache_key)
        if validator is None:
            root = {**schema, "components": self.components}
            validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
            self._validators[cache_key] = validator
        problems = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        self.checked.append((method, path, status))
        if problems:
            lines = [f"{'/'.join(map(str, p.path)) or '$'}: {p.message[:300]}"
                     for p in problems[:5]]
            raise ContractError(f"{method} {path} -> {status} breaks the OpenAPI contract:\n"
                                + "\n".join(lines))


def _failure_part(schema: dict) -> dict:
    """CONTRADICTORY_FAILURE: keep only the common-failure reference of an allOf."""
    refs = [part for part in schema.get("allOf", [])
            if part.get("$ref", "").endswith("api-response-common-failure")]
    return refs[0] if refs else schema
