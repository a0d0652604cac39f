package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
)

// DriftConfig is the company configuration that replaces
// ferry.DefaultMaxDriftPct: how far, in percent of the rows planned, the
// rows exported of each of its tables may differ from them before
// swap-tables refuses the company.
const DriftConfig = "max_drift_pct"

// MaxDriftPct returns c's max_drift_pct configuration (a number from 0 to
// 100; 100 tolerates any loss) or nil when it is not set. Anything else
// is a *ferry.ConfigError naming the company and the fix.
func MaxDriftPct(c ferry.Company) (*float64, error) {
	v, ok := c.Config[DriftConfig]
	if !ok {
		return nil, nil
	}
	pct, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || pct < 0 || pct > 100 {
		return nil, &ferry.ConfigError{Where: ferry.Where{Company: companyName(c)},
			Msg: fmt.Sprintf("configuration %s = %q is not a percentage from 0 to 100", DriftConfig, v),
			Fix: fmt.Sprintf("set it to e.g. 5 (`ferry company config %d %s=5`), or remove it for the default %g%%", c.ID, DriftConfig, ferry.DefaultMaxDriftPct)}
	}
	return &pct, nil
}
