package deploytest

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ferrydata/ferry/internal/steps"
)

// s3Action is the IAM action an S3 request needs ("Required permissions
// for Amazon S3 API operations"): the multipart calls are s3:PutObject but
// for the abort, listing a bucket is s3:ListBucket, HEAD is s3:GetObject.
func s3Action(r *http.Request) string {
	q := r.URL.Query()
	key := strings.Contains(strings.Trim(r.URL.Path, "/"), "/") // path-style: /bucket/key
	switch {
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "s3:AbortMultipartUpload"
	case r.Method == http.MethodGet && q.Has("uploadId"):
		return "s3:ListMultipartUploadParts"
	case r.Method == http.MethodPut || r.Method == http.MethodPost:
		return "s3:PutObject"
	case r.Method == http.MethodDelete:
		return "s3:DeleteObject"
	case !key:
		return "s3:ListBucket"
	}
	return "s3:GetObject"
}

// recordS3 is the fake S3's hook: it notes the action of every request
// under the function being invoked, and lets the fake answer.
func (w *eventsWorld) recordS3(_ http.ResponseWriter, r *http.Request) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.current != "" {
		if w.s3Calls[w.current] == nil {
			w.s3Calls[w.current] = map[string]bool{}
		}
		w.s3Calls[w.current][s3Action(r)] = true
	}
	return false
}

func (w *eventsWorld) s3Actions() map[string]map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]map[string]bool{}
	for fn, set := range w.s3Calls {
		out[fn] = map[string]bool{}
		for a := range set {
			out[fn][a] = true
		}
	}
	return out
}

// copyFunctions are the copy run's functions: template logical id, the
// step's needs (steps.Needs*: what internal/wire opens for it).
var copyFunctions = map[string]struct {
	id   string
	need steps.Need
}{
	"list-tables":  {"ListTablesFunction", steps.NeedsFunction},
	"export-chunk": {"ExportChunkFunction", steps.NeedsExportChunk},
	"load-chunk":   {"LoadChunkFunction", steps.NeedsLoadChunk},
	"swap-tables":  {"SwapTablesFunction", steps.NeedsSwapTables},
}

// grants are the IAM actions of a resource's Policies, and the lines.
func grants(t *testing.T, res string) (map[string]bool, string) {
	t.Helper()
	lines := loadTemplate(t)
	p, ok := lookup(lines, "Resources", res, "Properties", "Policies")
	if !ok {
		t.Fatalf("%s has no Policies", res)
	}
	set := map[string]bool{}
	var text []string
	for j := p + 1; j < len(lines) && lines[j].indent > lines[p].indent; j++ {
		text = append(text, lines[j].key+": "+lines[j].val)
		for _, m := range actionRe.FindAllString(lines[j].val, -1) {
			set[m] = true
		}
	}
	return set, strings.Join(text, "\n")
}

// checkIAM: each function's grants are what its code calls, and nothing
// more. What a function calls comes from the code: the S3 requests each
// handler made in the sam/events run (s3), the secrets of the databases
// its step needs (steps.Needs*) with the CA bundle and the key that may
// encrypt them, and EventBridge when it notifies. A grant the run does not
// exercise is allowed only with the reason below (an error path).
func checkIAM(t *testing.T, s3 map[string]map[string]bool) {
	justified := map[string]string{
		"s3:AbortMultipartUpload": "s3store aborts a write that fails (an object is never left half written)",
		"s3:ListBucket":           "without it a missing object is a 403, not the 404 that names the missing chunk or marker",
		"s3:DeleteObject":         "list-tables removes what an earlier attempt of the same run left (a retried list-tables)",
		"s3:GetObject":            "FinishRun reads the companies' outcomes (the ResultWriter's files) and names unloaded tables",
	}
	for dir, fn := range copyFunctions {
		want := map[string]bool{}
		for a := range s3[dir] {
			want[a] = true
		}
		db := fn.need&(steps.NeedConfig|steps.NeedLedger|steps.NeedSource|steps.NeedTarget) != 0
		if db {
			// The secrets, the CA bundle they are verified with (wire
			// reads it from S3), and a customer managed key's decrypt.
			for _, a := range []string{"secretsmanager:GetSecretValue", "s3:GetObject", "kms:Decrypt"} {
				want[a] = true
			}
		}
		if fn.need&steps.NeedNotifier != 0 {
			want["events:PutEvents"] = true
		}
		got, text := grants(t, fn.id)
		for a := range want {
			if !got[a] {
				t.Errorf("%s (%s) calls %s, which the template does not grant", fn.id, dir, a)
			}
		}
		for a := range got {
			if why, ok := justified[a]; !want[a] && (!ok || fn.need&steps.NeedStore == 0) {
				t.Errorf("%s (%s) is granted %s, which its code does not call (%s)", fn.id, dir, a, why)
			}
		}
		// The secrets are exactly the needed databases'.
		var secrets []string
		for _, r := range []struct {
			need steps.Need
			arn  string
		}{{steps.NeedConfig | steps.NeedLedger, "AdminSecretArn"}, {steps.NeedSource, "SourceSecretArn"}, {steps.NeedTarget, "TargetSecretArn"}} {
			if fn.need&r.need != 0 {
				secrets = append(secrets, r.arn)
			}
			if strings.Contains(text, "!Ref "+r.arn) != (fn.need&r.need != 0) {
				t.Errorf("%s: read access to %s does not match its needs", fn.id, r.arn)
			}
		}
		if len(secrets) == 0 && got["secretsmanager:GetSecretValue"] {
			t.Errorf("%s reads secrets without needing a database", fn.id)
		}
	}
	checkStateMachineIAM(t)
}

// checkStateMachineIAM: the state machine's grants follow from its
// definition: Distributed Maps start, watch, stop and redrive their
// children; an ItemReader reads from S3, a ResultWriter writes there; the
// vended logs; each function a Task invokes (LambdaInvokePolicy).
func checkStateMachineIAM(t *testing.T) {
	var want []string
	var dmap, reader, writer bool
	for _, s := range allStates(t, loadASL(t)) {
		if p, ok := s["ItemProcessor"].(map[string]any); ok && p["ProcessorConfig"].(map[string]any)["Mode"] == "DISTRIBUTED" {
			dmap = true
		}
		reader = reader || s["ItemReader"] != nil
		writer = writer || s["ResultWriter"] != nil
	}
	if dmap {
		want = append(want, "states:StartExecution", "states:DescribeExecution", "states:StopExecution", "states:RedriveExecution")
	}
	if reader {
		want = append(want, "s3:GetObject")
	}
	if writer {
		want = append(want, "s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
	}
	want = append(want, "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
		"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")
	slices.Sort(want)
	want = slices.Compact(want)
	got, text := grants(t, "FerryStateMachine")
	if g := sortedKeys(got); !slices.Equal(g, want) {
		t.Errorf("FerryStateMachine is granted %v; its definition needs %v", g, want)
	}
	for _, fn := range copyFunctions {
		if !strings.Contains(text, "FunctionName: !Ref "+fn.id) {
			t.Errorf("FerryStateMachine may not invoke %s (LambdaInvokePolicy)", fn.id)
		}
	}
}
