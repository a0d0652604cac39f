// Package statemachine embeds Ferry's workflow, ferry.asl.json, and fills
// its ${X} placeholders the way CloudFormation's DefinitionSubstitutions
// does (template.yaml), so that `ferry run` and `ferry demo` execute the
// very definition that is deployed.
package statemachine

import (
	"cmp"
	_ "embed"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Definition is statemachine/ferry.asl.json, placeholders unfilled.
//
//go:embed ferry.asl.json
var Definition []byte

// JobsDefinition is statemachine/jobs.asl.json, the jobs state machine,
// placeholders unfilled.
//
//go:embed jobs.asl.json
var JobsDefinition []byte

// The placeholders of JobsDefinition; template.yaml's JobsStateMachine
// DefinitionSubstitutions has exactly these keys.
const (
	RunJobFunctionArn = "RunJobFunctionArn"
	JobConcurrency    = "JobConcurrency"
)

// JobsKeys lists JobsDefinition's placeholders, sorted.
var JobsKeys = []string{JobConcurrency, RunJobFunctionArn}

// concurrencies are the placeholders whose values are non-negative
// integers (0: unbounded).
var concurrencies = []string{CompanyConcurrency, ChunkConcurrency, JobConcurrency}

// The placeholders of Definition; template.yaml's DefinitionSubstitutions
// has exactly these keys.
const (
	ListTablesFunctionArn  = "ListTablesFunctionArn"
	ExportChunkFunctionArn = "ExportChunkFunctionArn"
	LoadChunkFunctionArn   = "LoadChunkFunctionArn"
	SwapTablesFunctionArn  = "SwapTablesFunctionArn"
	ChunkBucket            = "ChunkBucket"
	CompanyConcurrency     = "CompanyConcurrency"
	ChunkConcurrency       = "ChunkConcurrency"
	// ScheduleTimezone is the IANA time zone run_date is taken in.
	ScheduleTimezone = "ScheduleTimezone"
)

// Keys lists the placeholders, sorted.
var Keys = []string{
	ChunkBucket, ChunkConcurrency, CompanyConcurrency, ExportChunkFunctionArn,
	ListTablesFunctionArn, LoadChunkFunctionArn, RunJobFunctionArn, ScheduleTimezone, SwapTablesFunctionArn,
}

// Values are what a run fills in.
type Values struct {
	// Function ARNs, or bare names a local engine resolves.
	ListTables, ExportChunk, LoadChunk, SwapTables, RunJob string
	// Bucket is the chunk bucket the Distributed Map reads manifests from
	// and writes results to.
	Bucket string
	// CompanyConcurrency and ChunkConcurrency are the defaults of the two
	// Maps' MaxConcurrency (an execution's input may override them); 0
	// means unbounded, as in Step Functions.
	CompanyConcurrency, ChunkConcurrency int
	// TimeZone is the schedule's (IANA); empty is UTC.
	TimeZone string
}

// Map returns v keyed by placeholder.
func (v Values) Map() map[string]string {
	return map[string]string{
		ListTablesFunctionArn:  v.ListTables,
		ExportChunkFunctionArn: v.ExportChunk,
		LoadChunkFunctionArn:   v.LoadChunk,
		SwapTablesFunctionArn:  v.SwapTables,
		RunJobFunctionArn:      v.RunJob,
		ChunkBucket:            v.Bucket,
		CompanyConcurrency:     strconv.Itoa(v.CompanyConcurrency),
		ScheduleTimezone:       cmp.Or(v.TimeZone, "UTC"),
		ChunkConcurrency:       strconv.Itoa(v.ChunkConcurrency),
	}
}

var placeholderRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Placeholders returns the distinct ${X} names in def, sorted.
func Placeholders(def []byte) []string {
	set := map[string]bool{}
	for _, m := range placeholderRe.FindAllSubmatch(def, -1) {
		set[string(m[1])] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Fill returns Definition with v substituted.
func Fill(v Values) ([]byte, error) { return Substitute(Definition, v.Map()) }

// Substitute replaces every ${X} in def by vals[X]. Every placeholder
// must have a value and every value a placeholder (a typo would otherwise
// reach the engine), the concurrencies must be non-negative integers, and
// no value may contain a character that would need escaping in JSON. It
// fills Definition and JobsDefinition alike.
func Substitute(def []byte, vals map[string]string) ([]byte, error) {
	used := Placeholders(def)
	for _, k := range used {
		v, ok := vals[k]
		if !ok {
			return nil, fmt.Errorf("statemachine: no value for ${%s}", k)
		}
		if v == "" && !containsString(concurrencies, k) {
			return nil, fmt.Errorf("statemachine: empty value for ${%s}", k)
		}
		if strings.ContainsAny(v, "\"\\'") || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
			return nil, fmt.Errorf("statemachine: value of ${%s} has a quote, backslash or control character", k)
		}
	}
	for _, k := range concurrencies {
		if v, ok := vals[k]; ok {
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				return nil, fmt.Errorf("statemachine: ${%s} = %q is not a non-negative integer", k, v)
			}
		}
	}
	for k := range vals {
		if !placeholderRe.Match([]byte("${"+k+"}")) || !containsString(used, k) {
			return nil, fmt.Errorf("statemachine: ${%s} does not occur in the definition", k)
		}
	}
	out := placeholderRe.ReplaceAllFunc(def, func(m []byte) []byte {
		return []byte(vals[string(m[2:len(m)-1])])
	})
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
