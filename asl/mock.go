package asl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MockConfig is a Step Functions Local mock configuration file
// (MockConfigFile.json): StateMachines → name → TestCases → case → state
// name → mocked response name; MockedResponses → name → {"0": {"Return":
// ...} | {"Throw": {"Error", "Cause"}}, "1-2": ...}.
type MockConfig struct {
	StateMachines   map[string]struct{ TestCases map[string]map[string]string } `json:"StateMachines"`
	MockedResponses map[string]map[string]mockStep                              `json:"MockedResponses"`
}

type mockStep struct {
	Return json.RawMessage `json:"Return,omitempty"`
	Throw  *struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"Throw,omitempty"`
}

// mockAttempt is one mocked response for invocations [from, to].
type mockAttempt struct {
	from, to int
	ret      any
	throw    *TaskError
}

// MockTestCase is one selected test case: per state name, the mocked
// responses by invocation number (0-based, counting retries).
type MockTestCase struct {
	Name   string
	states map[string][]mockAttempt
}

// ParseMockConfig parses and checks a mock configuration file.
func ParseMockConfig(b []byte) (*MockConfig, error) {
	var c MockConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("asl: mock config: %w", err)
	}
	return &c, nil
}

// TestCase selects a test case. stateMachine may be empty when the file
// configures exactly one state machine.
func (c *MockConfig) TestCase(stateMachine, testCase string) (*MockTestCase, error) {
	if _, ok := c.StateMachines[stateMachine]; !ok && stateMachine == "" && len(c.StateMachines) == 1 {
		for k := range c.StateMachines {
			stateMachine = k
		}
	}
	sm, ok := c.StateMachines[stateMachine]
	if !ok {
		names := make([]string, 0, len(c.StateMachines))
		for k := range c.StateMachines {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("asl: mock config has no state machine %q (it has: %s); pass the state machine name", stateMachine, strings.Join(names, ", "))
	}
	tc, ok := sm.TestCases[testCase]
	if !ok {
		names := make([]string, 0, len(sm.TestCases))
		for k := range sm.TestCases {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("asl: mock config state machine %q has no test case %q (it has: %s)", stateMachine, testCase, strings.Join(names, ", "))
	}
	out := &MockTestCase{Name: testCase, states: map[string][]mockAttempt{}}
	for state, respName := range tc {
		resp, ok := c.MockedResponses[respName]
		if !ok {
			return nil, fmt.Errorf("asl: mock config test case %q: state %q uses mocked response %q, which is not defined in MockedResponses", testCase, state, respName)
		}
		var atts []mockAttempt
		for rng, step := range resp {
			from, to, err := parseRange(rng)
			if err != nil {
				return nil, fmt.Errorf("asl: mock config response %q: %w", respName, err)
			}
			a := mockAttempt{from: from, to: to}
			switch {
			case step.Throw != nil && step.Return != nil:
				return nil, fmt.Errorf("asl: mock config response %q[%s]: Return and Throw are mutually exclusive", respName, rng)
			case step.Throw != nil:
				a.throw = &TaskError{Name: step.Throw.Error, Cause: step.Throw.Cause}
			case step.Return != nil:
				v, err := decodeJSON(step.Return)
				if err != nil {
					return nil, fmt.Errorf("asl: mock config response %q[%s]: %w", respName, rng, err)
				}
				a.ret = v
			default:
				return nil, fmt.Errorf("asl: mock config response %q[%s]: needs Return or Throw", respName, rng)
			}
			atts = append(atts, a)
		}
		sort.Slice(atts, func(i, j int) bool { return atts[i].from < atts[j].from })
		out.states[state] = atts
	}
	return out, nil
}

func parseRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	from, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || from < 0 {
		return 0, 0, fmt.Errorf("invalid invocation key %q: want \"N\" or \"N-M\"", s)
	}
	to := from
	if isRange {
		if to, err = strconv.Atoi(strings.TrimSpace(b)); err != nil || to < from {
			return 0, 0, fmt.Errorf("invalid invocation range %q", s)
		}
	}
	return from, to, nil
}

// mockState counts invocations per state across one execution (and its
// child executions).
type mockState struct {
	tc     *MockTestCase
	mu     sync.Mutex
	counts map[string]int
}

func newMockState(tc *MockTestCase) *mockState {
	return &mockState{tc: tc, counts: map[string]int{}}
}

// response returns the mocked response of a state's next invocation. An
// invocation past the last defined key repeats the last response.
func (m *mockState) response(state string) (bool, any, error) {
	if m == nil || m.tc == nil {
		return false, nil, nil
	}
	atts, ok := m.tc.states[state]
	if !ok || len(atts) == 0 {
		return false, nil, nil
	}
	m.mu.Lock()
	n := m.counts[state]
	m.counts[state]++
	m.mu.Unlock()
	pick := atts[len(atts)-1]
	for _, a := range atts {
		if n >= a.from && n <= a.to {
			pick = a
			break
		}
	}
	if pick.throw != nil {
		return true, nil, &TaskError{Name: pick.throw.Name, Cause: pick.throw.Cause}
	}
	v, _ := normalize(deepCopy(pick.ret))
	return true, v, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}
