package deploytest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestJobsStateMachine: the jobs state machine's ${X} are exactly its
// DefinitionSubstitutions, every Task invokes run-job, it is started by its
// own ScheduleV2 schedule, and its failed, timed-out and aborted executions
// reach run-job (the leases are released).
func TestJobsStateMachine(t *testing.T) {
	lines := loadTemplate(t)
	i, ok := lookup(lines, "Resources", "JobsStateMachine", "Properties", "DefinitionSubstitutions")
	if !ok {
		t.Fatal("template.yaml: JobsStateMachine has no DefinitionSubstitutions")
	}
	subs := childMap(lines, i)
	if used := placeholders(read(t, "statemachine/jobs.asl.json")); !slices.Equal(used, sortedKeys(subs)) {
		t.Fatalf("jobs.asl.json placeholders %v, DefinitionSubstitutions %v", used, sortedKeys(subs))
	}
	if subs["RunJobFunctionArn"] != "!GetAtt RunJobFunction.Arn" {
		t.Fatalf("RunJobFunctionArn = %q", subs["RunJobFunctionArn"])
	}
	p, _ := lookup(lines, "Resources", "JobsStateMachine", "Properties")
	if m := childMap(lines, p); m["DefinitionUri"] != "statemachine/jobs.asl.json" || m["Name"] != `!Sub "${AWS::StackName}-jobs"` {
		t.Fatalf("JobsStateMachine %v", m)
	}
	ev, ok := lookup(lines, "Resources", "JobsStateMachine", "Properties", "Events", "Tick")
	if !ok || childMap(lines, ev)["Type"] != "ScheduleV2" {
		t.Fatal("JobsStateMachine is not started by a ScheduleV2 schedule")
	}
	src := string(read(t, "template.yaml"))
	for _, want := range []string{
		"stateMachineArn: [!Ref JobsStateMachine]",
		"Arn: !GetAtt RunJobFunction.Arn",
		"FERRY_EXTRACT_BUCKET: !Ref ExtractBucket",
		`Resource: !Sub "${ExtractBucket.Arn}/*"`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("template.yaml lacks %s", want)
		}
	}
}

// The job sam/events/run-job-*.json run: company 42's orders older than
// its "last 90 days", purged on the source in batches of 100.
var eventsJob = ferry.Job{Name: "purge_old_orders", Active: true, Kind: ferry.JobBatched, Database: ferry.JobOnSource,
	SQL: "DELETE FROM orders WHERE company_id = :company_id AND created_at < :since", Params: []string{"company_id", "since"},
	Trigger: ferry.JobOnSchedule, Schedule: "cron(30 2 * * ? *)", TimeZone: "Europe/Paris", Position: 100, Timeout: time.Hour, BatchRows: 100}

const jobsRun = "jobs-2026-11-22T01-30-00Z"

// TestSAMEventsRunJob invokes sam/events/run-job-{due,run,finish}.json,
// unchanged, through lambda.NewHandler with the handler functions/run-job
// starts, against real MariaDB (admin and source): the due action claims
// the job for company 42 and returns the task run-job-run.json carries,
// which purges the company's old orders to the last row, and finish
// records it. Run with -update-events to rewrite the payloads.
func TestSAMEventsRunJob(t *testing.T) {
	w := newEventsWorld(t)
	jb, err := mysql.NewAdmin(w.admin).JobAdmin()
	testdb.Must(t, "job admin", err)
	testdb.Must(t, "add job", jb.PutJob(w.ctx, eventsJob, false))

	var dueReq steps.JobRequest
	dueEvent := readEvent(t, "run-job-due.json", &dueReq)
	var due jobs.DueOutput
	w.invoke("run-job", dueEvent, &due)
	if due.RunID != jobsRun || due.RunDate != "2026-11-22" || len(due.Tasks) != 1 || due.Tasks[0].CompanyID != eventsCompany || !due.Tasks[0].Idempotent {
		t.Fatalf("run-job-due.json: %+v, want one idempotent task for company %d", due, eventsCompany)
	}
	var runReq steps.JobRequest
	runEvent := readEvent(t, "run-job-run.json", &runReq)
	if real := (steps.JobRequest{Action: steps.ActionRun, Task: &due.Tasks[0]}); *updateEvents {
		writeEvent(t, "run-job-run.json", real)
		runEvent = readEvent(t, "run-job-run.json", &runReq)
	} else if !reflect.DeepEqual(*runReq.Task, due.Tasks[0]) {
		t.Errorf("sam/events/run-job-run.json is not the due action's task:\n event %+v\n  real %+v", *runReq.Task, due.Tasks[0])
	}
	old := w.sourceCount("SELECT COUNT(*) FROM orders WHERE company_id = 42 AND created_at < '2026-08-24'")
	var prog ferry.JobProgress
	w.invoke("run-job", runEvent, &prog)
	if !prog.Done || prog.Status != jobs.RunSucceeded || prog.Rows != old || old == 0 || prog.Batches < 2 {
		t.Fatalf("run-job-run.json: %+v, want done after deleting the %d old orders in batches of 100", prog, old)
	}
	if n := w.sourceCount("SELECT COUNT(*) FROM orders WHERE company_id = 42 AND created_at < '2026-08-24'"); n != 0 {
		t.Fatalf("%d old orders left", n)
	}
	if n := w.sourceCount("SELECT COUNT(*) FROM orders WHERE company_id = 7 AND created_at < '2026-08-24'"); n == 0 {
		t.Fatal("the purge deleted another company's orders")
	}
	var finReq steps.JobRequest
	finEvent := readEvent(t, "run-job-finish.json", &finReq)
	realFin := steps.JobRequest{Action: steps.ActionFinish, RunID: jobsRun,
		Outcomes: []ferry.JobOutcome{{Job: eventsJob.Name, CompanyID: eventsCompany, Alias: "acme", Rows: prog.Rows}}}
	if *updateEvents {
		writeEvent(t, "run-job-finish.json", realFin)
		finEvent = readEvent(t, "run-job-finish.json", &finReq)
	} else if !reflect.DeepEqual(finReq, realFin) {
		t.Errorf("sam/events/run-job-finish.json is not this run's outcome:\n event %+v\n  real %+v", finReq, realFin)
	}
	var fin jobs.FinishOutput
	w.invoke("run-job", finEvent, &fin)
	runs, err := jb.JobRuns(w.ctx, jobsRun)
	testdb.Must(t, "job runs", err)
	if fin.Failed != 0 || len(runs) != 1 || runs[0].Status != jobs.RunSucceeded || runs[0].Rows != old {
		t.Fatalf("finish %+v, job runs %+v", fin, runs)
	}
}

func (w *eventsWorld) sourceCount(q string) int64 {
	w.t.Helper()
	var n int64
	testdb.Must(w.t, q, w.src.QueryRowContext(w.ctx, q).Scan(&n))
	return n
}
