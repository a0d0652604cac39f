package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkMapPass10k runs an inline Map over 10,000 items, each a Pass
// state, and reports ns per item.
func BenchmarkMapPass10k(b *testing.B) {
	for _, mode := range []string{"INLINE", "DISTRIBUTED"} {
		b.Run(mode, func(b *testing.B) {
			const n = 10000
			input := benchItems(n)
			// ResultPath null keeps the 10,000 results out of the (256 KiB-limited) state output.
			sm := mustParse(b, `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ResultPath":null,"End":true,
				"ItemProcessor":{"ProcessorConfig":{"Mode":"`+mode+`","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"v.$":"$.i"},"End":true}}}}}}`)
			benchRun(b, sm, input, n)
		})
	}
}

// benchItems is {"items":[{"i":0},...]} with n items.
func benchItems(n int) json.RawMessage {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"i":%d}`, i)
	}
	return json.RawMessage(`{"items":[` + strings.Join(items, ",") + `]}`)
}

// benchRun executes sm b.N times and reports ns per item.
func benchRun(b *testing.B, sm *StateMachine, input json.RawMessage, n int) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ex, err := sm.Execute(context.Background(), input, Options{Name: "bench", Clock: NewVirtualClock(epoch)})
		if err != nil || ex.Status != StatusSucceeded {
			b.Fatalf("%v %s %s %s", err, ex.Status, ex.Error, ex.Cause)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
}

// BenchmarkPassChain measures the per-state overhead with a chain of 100
// Pass states.
func BenchmarkPassChain(b *testing.B) {
	const n = 100
	var sb strings.Builder
	sb.WriteString(`{"StartAt":"S0","States":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		next := fmt.Sprintf(`"Next":"S%d"`, i+1)
		if i == n-1 {
			next = `"End":true`
		}
		fmt.Fprintf(&sb, `"S%d":{"Type":"Pass","Parameters":{"n.$":"$.n","step":%d},%s}`, i, i, next)
	}
	sb.WriteString(`}}`)
	sm := mustParse(b, sb.String())
	input := json.RawMessage(`{"n":1}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ex, err := sm.Execute(context.Background(), input, Options{Name: "bench", Clock: NewVirtualClock(epoch)})
		if err != nil || ex.Status != StatusSucceeded {
			b.Fatalf("%v %s %s", err, ex.Status, ex.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/state")
}

// BenchmarkJSONataMap10k is BenchmarkMapPass10k/INLINE in JSONata: Items,
// ItemSelector and Output are expressions.
func BenchmarkJSONataMap10k(b *testing.B) {
	const n = 10000
	sm := mustParse(b, `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.items %}","Output":"{% $count($states.result) %}","End":true,
		"ItemSelector":{"v":"{% $states.context.Map.Item.Value.i %}"},
		"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input.v + 1 %}","End":true}}}}}}`)
	benchRun(b, sm, benchItems(n), n)
}
