# Shortcuts; scripts/dev.sh does the work (it also runs where make is absent).
.PHONY: demo test setup
demo:
	scripts/dev.sh demo
test:
	scripts/dev.sh test
setup:
	scripts/dev.sh setup
