package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// inflight is a handler that records the maximum number of concurrent calls
// and returns its input.
type inflight struct {
	cur, max atomic.Int32
}

func (f *inflight) handle(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
	n := f.cur.Add(1)
	defer f.cur.Add(-1)
	for {
		m := f.max.Load()
		if n <= m || f.max.CompareAndSwap(m, n) {
			break
		}
	}
	runtime.Gosched()
	return in, nil
}

func TestInlineMapConcurrencyAndOrder(t *testing.T) {
	for _, mc := range []int{1, 3, 0} {
		t.Run(fmt.Sprintf("MaxConcurrency=%d", mc), func(t *testing.T) {
			var items []string
			for i := 0; i < 50; i++ {
				items = append(items, fmt.Sprint(i))
			}
			def := fmt.Sprintf(`{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":%d,"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}},"End":true}}}`, mc)
			f := &inflight{}
			ex := runDef(t, def, "["+strings.Join(items, ",")+"]", Options{Tasks: map[string]TaskHandler{"f": f.handle}})
			if ex.Status != StatusSucceeded {
				t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
			}
			if want := "[" + strings.Join(items, ",") + "]"; string(ex.Output) != want {
				t.Fatalf("order lost: %s", ex.Output)
			}
			if mc > 0 && f.max.Load() > int32(mc) {
				t.Fatalf("max in flight %d > MaxConcurrency %d", f.max.Load(), mc)
			}
			if f.max.Load() < 1 {
				t.Fatal("handler never ran")
			}
		})
	}
}

func TestOptionsMaxConcurrencyCaps(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}},"End":true}}}`
	f := &inflight{}
	ex := runDef(t, def, `[1,2,3,4,5,6,7,8,9,10,11,12]`, Options{MaxConcurrency: 2, Tasks: map[string]TaskHandler{"f": f.handle}})
	if ex.Status != StatusSucceeded || f.max.Load() > 2 {
		t.Fatalf("%s max=%d", ex.Status, f.max.Load())
	}
}

func TestInlineMapFailureAndCatch(t *testing.T) {
	h := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		if string(in) == "3" {
			return nil, &TaskError{Name: "Bad", Cause: "item 3"}
		}
		return in, nil
	}
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}},
		"Catch":[{"ErrorEquals":["Bad"],"ResultPath":"$.error","Next":"C"}],"ItemsPath":"$.items","End":true},"C":{"Type":"Pass","End":true}}}`
	ex := runDef(t, def, `{"items":[1,2,3,4]}`, Options{Tasks: map[string]TaskHandler{"f": h}})
	if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, `{"items":[1,2,3,4],"error":{"Error":"Bad","Cause":"item 3"}}`) {
		t.Fatalf("%s %s %s", ex.Status, ex.Output, ex.Error)
	}
}

func TestParallel(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Parameters":{"v.$":"$.v"},"ResultSelector":{"a.$":"$[0]","b.$":"$[1].w"},"ResultPath":"$.out","End":true,"Branches":[
		{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.v","End":true}}},
		{"StartAt":"B","States":{"B":{"Type":"Pass","Parameters":{"w.$":"States.MathAdd($.v, 1)"},"End":true}}}]}}}`
	ex := runDef(t, def, `{"v":1}`, Options{})
	if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, `{"v":1,"out":{"a":1,"b":2}}`) {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
	fail := `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
		{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":5,"End":true}}},
		{"StartAt":"B","States":{"B":{"Type":"Fail","Error":"BranchBoom","Cause":"b"}}}]}}}`
	ex = runDef(t, fail, `{}`, Options{})
	if ex.Status != StatusFailed || ex.Error != "BranchBoom" {
		t.Fatalf("%s %s", ex.Status, ex.Error)
	}
}

// memStore is an in-memory object store for ItemReader and ResultWriter.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte
}

func (m *memStore) ReadObject(_ context.Context, resource, bucket, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("NoSuchKey: %s/%s", bucket, key)
	}
	return b, nil
}

func (m *memStore) WriteObject(_ context.Context, resource, bucket, key string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	m.objects[bucket+"/"+key] = append([]byte(nil), body...)
	return nil
}

const distributedDef = `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,%s,
	"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":%s,"Parameters":{"Bucket":"b","Key.$":"$.key"}},
	"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}}}}`

func TestDistributedMapItemReader(t *testing.T) {
	store := &memStore{objects: map[string][]byte{
		"b/items.json":   []byte(`[{"id":1},{"id":2},{"id":3}]`),
		"b/items.jsonl":  []byte("{\"id\":1}\n{\"id\":2}\n\n{\"id\":3}\n"),
		"b/items.csv":    []byte("id,name\n1,a\n2,\"b,c\"\n3,d\n"),
		"b/noheader.csv": []byte("1|a\n2|b\n"),
	}}
	tests := []struct{ name, key, reader, extra, want string }{
		{"JSON", "items.json", `{}`, `"ItemSelector":{"n.$":"$$.Map.Item.Value.id","i.$":"$$.Map.Item.Index"}`, `[{"n":1,"i":0},{"n":2,"i":1},{"n":3,"i":2}]`},
		{"JSONL with MaxItems", "items.jsonl", `{"InputType":"JSONL","MaxItems":2}`, `"MaxConcurrency":1`, `[{"id":1},{"id":2}]`},
		{"CSV first row headers", "items.csv", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `"MaxConcurrency":2`, `[{"id":"1","name":"a"},{"id":"2","name":"b,c"},{"id":"3","name":"d"}]`},
		{"CSV given headers, pipe", "noheader.csv", `{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["n","v"],"CSVDelimiter":"PIPE"}`, `"MaxConcurrency":0`, `[{"n":"1","v":"a"},{"n":"2","v":"b"}]`},
		{"ItemBatcher", "items.json", `{}`, `"ItemBatcher":{"MaxItemsPerBatch":2,"BatchInput":{"run.$":"$.key"}}`, `[{"Items":[{"id":1},{"id":2}],"BatchInput":{"run":"items.json"}},{"Items":[{"id":3}],"BatchInput":{"run":"items.json"}}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := fmt.Sprintf(distributedDef, tc.extra, tc.reader)
			ex := runDef(t, def, fmt.Sprintf(`{"key":%q}`, tc.key), Options{ItemReader: store, Tasks: map[string]TaskHandler{"f": echo}})
			if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, tc.want) {
				t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
			}
		})
	}
	t.Run("missing object is States.ItemReaderFailed", func(t *testing.T) {
		ex := runDef(t, fmt.Sprintf(distributedDef, `"MaxConcurrency":1`, `{}`), `{"key":"nope.json"}`, Options{ItemReader: store, Tasks: map[string]TaskHandler{"f": echo}})
		if ex.Status != StatusFailed || ex.Error != ErrItemReaderFailed || !strings.Contains(ex.Cause, "NoSuchKey") {
			t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
		}
	})
}

func TestDistributedMapResultWriterAndBoundedHistory(t *testing.T) {
	n := 300
	var items []string
	for i := 0; i < n; i++ {
		items = append(items, fmt.Sprintf(`{"id":%d}`, i))
	}
	store := &memStore{objects: map[string][]byte{"b/items.json": []byte("[" + strings.Join(items, ",") + "]")}}
	def := fmt.Sprintf(distributedDef, `"MaxConcurrency":8,"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"runs/r1"}}`, `{}`)
	var childEvents, childDone atomic.Int32
	obs := func(o Observation) {
		if o.MapRunArn != "" {
			childEvents.Add(1)
			if o.Event.Type == "ExecutionSucceeded" {
				childDone.Add(1)
			}
		}
	}
	ex := runDef(t, def, `{"key":"items.json"}`, Options{ItemReader: store, ResultWriter: store, Observer: obs, Tasks: map[string]TaskHandler{"f": echo}})
	if ex.Status != StatusSucceeded {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	var out struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	if err := json.Unmarshal(ex.Output, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.MapRunArn, "arn:aws:states:us-east-1:123456789012:mapRun:StateMachine/M:") || out.ResultWriterDetails.Bucket != "out" ||
		!strings.HasPrefix(out.ResultWriterDetails.Key, "runs/r1/") || !strings.HasSuffix(out.ResultWriterDetails.Key, "/manifest.json") {
		t.Fatalf("output %s", ex.Output)
	}
	var manifest struct {
		DestinationBucket string
		MapRunArn         string
		ResultFiles       map[string][]struct {
			Key  string
			Size int
		}
	}
	if err := json.Unmarshal(store.objects["out/"+out.ResultWriterDetails.Key], &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.MapRunArn != out.MapRunArn || len(manifest.ResultFiles["SUCCEEDED"]) != 1 || len(manifest.ResultFiles["FAILED"]) != 0 {
		t.Fatalf("manifest %+v", manifest)
	}
	var recs []map[string]any
	if err := json.Unmarshal(store.objects["out/"+manifest.ResultFiles["SUCCEEDED"][0].Key], &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != n || recs[7]["Output"] != `{"id":7}` || recs[7]["Status"] != "SUCCEEDED" || recs[7]["Input"] != `{"id":7}` {
		t.Fatalf("%d records, [7]=%v", len(recs), recs[7])
	}
	// The parent history does not grow with the items.
	var types []string
	for _, e := range ex.History() {
		types = append(types, e.Type)
	}
	want := "ExecutionStarted,MapStateEntered,MapStateStarted,MapRunStarted,MapRunSucceeded,MapStateSucceeded,MapStateExited,ExecutionSucceeded"
	if got := strings.Join(types, ","); got != want {
		t.Fatalf("parent history %s", got)
	}
	if childDone.Load() != int32(n) || childEvents.Load() < int32(n*4) {
		t.Fatalf("observer saw %d child successes, %d child events", childDone.Load(), childEvents.Load())
	}
}

func TestDistributedMapToleratedFailures(t *testing.T) {
	h := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var v int
		_ = json.Unmarshal(in, &v)
		if v%4 == 0 { // 0,4,8: 3 of 10 fail
			return nil, &TaskError{Name: "Odd", Cause: fmt.Sprint(v)}
		}
		return in, nil
	}
	tests := []struct {
		name, tol, wantStatus, wantErr string
	}{
		{"no tolerance: any failure fails", `"MaxConcurrency":1`, StatusFailed, ErrExceedToleratedFailure},
		{"count 3 tolerated", `"ToleratedFailureCount":3`, StatusSucceeded, ""},
		{"count 2 exceeded", `"ToleratedFailureCount":2`, StatusFailed, ErrExceedToleratedFailure},
		{"30 percent tolerated", `"ToleratedFailurePercentage":30`, StatusSucceeded, ""},
		{"20 percent exceeded", `"ToleratedFailurePercentage":20`, StatusFailed, ErrExceedToleratedFailure},
		{"path forms", `"ToleratedFailureCountPath":"$.c"`, StatusSucceeded, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,` + tc.tol + `,
				"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}}}}`
			ex := runDef(t, def, `{"c":3,"items":[0,1,2,3,4,5,6,7,8,9]}`, Options{Tasks: map[string]TaskHandler{"f": h}})
			if ex.Status != tc.wantStatus || ex.Error != tc.wantErr {
				t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
			}
			if ex.Status == StatusSucceeded {
				var out []any
				_ = json.Unmarshal(ex.Output, &out)
				failed, _ := out[4].(map[string]any)
				if len(out) != 10 || failed["Status"] != "FAILED" || failed["Error"] != "Odd" || out[5] != float64(5) {
					t.Fatalf("output %s", ex.Output)
				}
			}
		})
	}
}

// TestNoGoroutineLeak runs executions that fail, succeed and abort inside
// Map and Parallel states, then checks the goroutine count settles back.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	h := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		if string(in) == "7" {
			return nil, &TaskError{Name: "Seven"}
		}
		return in, nil
	}
	for _, mode := range []string{"INLINE", "DISTRIBUTED"} {
		def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":3,"End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"` + mode + `","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
			{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}},
			{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}]}}}}}}`
		for _, in := range []string{`[1,2,3,4,5,6,7,8,9,10]`, `[1,2,3]`} {
			runDef(t, def, in, Options{Tasks: map[string]TaskHandler{"f": h}})
		}
	}
	// Task and heartbeat timeouts cancel their handlers, which then return.
	clock := NewVirtualClock(epoch)
	for _, fields := range []string{`"TimeoutSeconds":5`, `"HeartbeatSeconds":2`} {
		def := `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:w",` + fields + `,"End":true}}}}}}`
		ex := runDef(t, def, `[1,2,3]`, Options{Clock: clock, Tasks: map[string]TaskHandler{"w": worker(clock, 1, 10*time.Second, false)}})
		if ex.Status != StatusFailed {
			t.Fatalf("%s: %s, want a timeout", fields, ex.Status)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// The legacy Iterator and Parameters fields work like ItemProcessor and
// ItemSelector; both see $$.Map.Item.Index and .Value, and $ is the Map
// state's effective input.
func TestInlineMapLegacyIteratorAndItemSelector(t *testing.T) {
	tests := []struct{ name, fields string }{
		{"ItemProcessor and ItemSelector", `"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index","tag.$":"$.tag"}`},
		{"legacy Iterator and Parameters", `"Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"Parameters":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index","tag.$":"$.tag"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","ResultPath":"$.out","MaxConcurrency":2,` + tc.fields + `,"End":true}}}`
			ex := runDef(t, def, `{"xs":["a",null,{"k":1}],"tag":"t"}`, Options{})
			if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, `{"xs":["a",null,{"k":1}],"tag":"t","out":[{"v":"a","i":0,"tag":"t"},{"v":null,"i":1,"tag":"t"},{"v":{"k":1},"i":2,"tag":"t"}]}`) {
				t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
			}
		})
	}
}
