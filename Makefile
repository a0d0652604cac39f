# Ferry. `make demo` runs the whole workflow on an embedded server;
# `make test` runs every test against the real MariaDB and PostgreSQL.
SHELL := /bin/bash
export AWS_EC2_METADATA_DISABLED := true
GO ?= go
FUNCTIONS := list-tables export-chunk load-chunk swap-tables run-job
BIN := bin
GOARCH_LAMBDA ?= arm64

.PHONY: all demo test test-short scale soak build cli lint bench bench-engine fuzz clean

all: lint test build

## demo: run the real state machine on an embedded MySQL-compatible server (nothing to install);
## bin/ferry-demo is ferry with the embedded server linked in
demo:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ferry-demo ./cmd/ferry
	./$(BIN)/ferry-demo demo

## test: every test, against the real MariaDB (127.0.0.1:3306) and PostgreSQL (127.0.0.1:5432)
test:
	$(GO) test -count=1 -p 2 -timeout 20m ./...

## scale: issue 11's full scale on the engine, 10,000 companies x 5 tables x 20 chunks (1,010,001
## executions with fakes; about 200 CPU-seconds and 1.1 GiB; make test runs 200 companies)
scale:
	FERRY_SCALE_COMPANIES=10000 $(GO) test -count=1 -v -timeout 15m -run TestScale ./internal/scaletest/

## soak: issue 9's soak (not in make test): RUNS runs (default 50) of the real definition back to back over two
## companies on each target while 8 readers query the live tables and a killer ends a random export or load
## session every KILL_EVERY (default 2s); prints runs, kills, reader queries, reader errors, partial or empty
## reads, the longest reader block, rows lost or duplicated (make soak RUNS=5 for a quick one)
soak:
	set -o pipefail; FERRY_SOAK_RUNS=$(or $(RUNS),50) FERRY_SOAK_KILL_EVERY=$(or $(KILL_EVERY),2s) $(GO) test -count=1 -v -timeout 60m -run TestSoak ./internal/soak/ | grep -v '^=== '

## build: the four Lambda functions for linux/arm64, exactly as `sam build` does (BuildMethod go1.x)
build:
	@mkdir -p $(BIN)/lambda
	@for f in $(FUNCTIONS); do \
	  echo "build functions/$$f -> $(BIN)/lambda/$$f/bootstrap"; \
	  mkdir -p $(BIN)/lambda/$$f; \
	  (cd functions/$$f && CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) \
	    $(GO) build -tags lambda.norpc -trimpath -ldflags=-s -o ../../$(BIN)/lambda/$$f/bootstrap .) || exit 1; \
	done
	@ls -l $(BIN)/lambda/*/bootstrap

## cli: the ferry command for this machine, without the demo's embedded server (-tags nodemo:
## go-mysql-server costs every process ~0.7 s CPU and ~50 MB at start-up; docs/performance.md)
cli:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -tags nodemo -o $(BIN)/ferry ./cmd/ferry

## lint: gofmt, go vet, go mod tidy (go.mod and go.sum exactly as tidy leaves them), cfn-lint (with informational checks) and asl-validator
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags nodemo ./cmd/ferry ./internal/local
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy (then check it kept the pinned aws-sdk-go-v2 versions)"; exit 1; }
	cfn-lint --include-checks I -- template.yaml
	npx --yes asl-validator@4 --json-path statemachine/ferry.asl.json
	npx --yes asl-validator@4 --json-path statemachine/jobs.asl.json

## bench: the engine benchmarks, then the data-path benchmark (scripts/bench.sh, issue #12's table: 2M rows
## MariaDB -> PostgreSQL and -> MariaDB against the pipe, the ingest ceiling and mydumper; `make bench ROWS=200000`
## for a quick one); its last line is bench: PASS or bench: FAIL <targets missed>
bench: cli bench-engine
	BENCH_ROWS=$(or $(ROWS),$(BENCH_ROWS),2000000) ./scripts/bench.sh

bench-engine:
	$(GO) test -run '^$$' -bench . -benchmem ./asl/ ./internal/csvcodec/

## fuzz: a short fuzzing pass over the CSV codec and the parameter binder
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRoundTrip -fuzztime 30s ./internal/csvcodec/

clean:
	rm -rf $(BIN) .aws-sam
