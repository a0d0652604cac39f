package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lambdaLinks is what each Lambda binary may and may not link, as `sam
// build` builds it (linux/arm64, -tags lambda.norpc). Every function needs
// both adapters (the source, admin and target databases may each be MySQL
// or PostgreSQL, known only at run time from the URL or the secret) and the
// S3 store; only swap-tables publishes to EventBridge. export-chunk reads
// only the source, but either engine's: with pgx it is 15.1 MB instead of
// 11.3 MB (-ldflags=-s), all of it pgx's (a source-only PostgreSQL engine
// links to the same size), so one binary serves both engines.
var lambdaLinks = map[string]struct{ must, mustNot []string }{
	"export-chunk": {
		must:    []string{"internal/mysql", "internal/postgres", "internal/s3store", "internal/secrets", "aws-lambda-go/lambda"},
		mustNot: []string{"service/eventbridge", "internal/events"},
	},
	"load-chunk": {
		must:    []string{"internal/postgres", "internal/mysql", "internal/s3store"},
		mustNot: []string{"service/eventbridge", "internal/events"},
	},
	"list-tables": {
		must:    []string{"internal/postgres", "internal/mysql", "internal/admin", "internal/plan"},
		mustNot: []string{"service/eventbridge", "internal/events"},
	},
	"swap-tables": {
		must: []string{"internal/postgres", "internal/mysql", "internal/admin", "service/eventbridge", "internal/events"},
	},
	"run-job": {
		must:    []string{"internal/postgres", "internal/mysql", "internal/admin", "internal/jobs", "internal/s3store"},
		mustNot: []string{"service/eventbridge", "internal/events"},
	},
}

// linkedByNone are packages no Lambda binary may link: the CLI and its
// day-2 logic, the local runner, the ASL engine and the demo's embedded
// server.
var linkedByNone = []string{"cmd/ferry", "internal/ops", "internal/local", "ferrydata/ferry/asl", "dolthub/go-mysql-server", "internal/testdb"}

// TestLambdaLinks lists the packages each functions/* main links (go list
// -deps, as sam build compiles it) and checks each links what its step
// uses and nothing it does not.
func TestLambdaLinks(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	for fn, want := range lambdaLinks {
		t.Run(fn, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./functions/"+fn)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list %s: %v", filepath.Join("functions", fn), err)
			}
			deps := map[string]bool{}
			for _, p := range strings.Fields(string(out)) {
				deps[p] = true
			}
			// links reports a package named path, or one under it.
			links := func(path string) bool {
				for p := range deps {
					if p == path || strings.HasSuffix(p, "/"+path) || strings.Contains(p, "/"+path+"/") {
						return true
					}
				}
				return false
			}
			for _, p := range want.must {
				if !links(p) {
					t.Errorf("%s does not link %s", fn, p)
				}
			}
			for _, p := range append(want.mustNot, linkedByNone...) {
				if links(p) {
					t.Errorf("%s links %s", fn, p)
				}
			}
		})
	}
}
