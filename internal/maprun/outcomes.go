package maprun

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferrydata/ferry"
)

// companyInput is a ForEachCompany child's input (the state machine's
// ItemSelector): the company, and the chunk concurrency.
type companyInput struct {
	Company ferry.CompanyRun `json:"company"`
}

// CompanyOutcomes reads ForEachCompany's results at the manifest key. A
// SUCCEEDED child's output is its ferry.CompanyOutcome (CompanySucceeded
// or CompanyFailed shapes it; a caught failure keeps its error and cause
// there, in S3, not in the parent's payload). A FAILED child (it failed
// uncaught, e.g. States.DataLimitExceeded, timed out or was aborted) and a
// PENDING one (never started) become a failed outcome for the company of
// its input, with the child's error and cause.
func CompanyOutcomes(ctx context.Context, store ferry.Store, key string) ([]ferry.CompanyOutcome, error) {
	var out []ferry.CompanyOutcome
	err := Read(ctx, store, key, func(status string, r Record) error {
		if status == Succeeded {
			var o ferry.CompanyOutcome
			if err := json.Unmarshal([]byte(r.Output), &o); err != nil {
				return fmt.Errorf("child %s: output is not a company outcome: %w", r.Name, err)
			}
			out = append(out, o)
			return nil
		}
		var in companyInput
		if err := json.Unmarshal([]byte(r.Input), &in); err != nil {
			return fmt.Errorf("child %s: input is not a company item: %w", r.Name, err)
		}
		o := ferry.CompanyOutcome{CompanyID: in.Company.CompanyID, Alias: in.Company.Alias, Failed: true, Error: r.Error, Cause: r.Cause}
		if status == Pending {
			o.Error = "Ferry.NotStarted"
			o.Cause = "the run's company map ended before this company's execution started (fix: start a new run for it)"
		} else if o.Error == "" {
			o.Error = "States." + r.Status
		}
		out = append(out, o)
		return nil
	})
	return out, err
}
