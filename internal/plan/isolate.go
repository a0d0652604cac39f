package plan

import (
	"errors"
	"sort"

	"github.com/ferrydata/ferry"
)

// isolate moves every company with a problem out of p.Companies into
// p.Failed. A problem without a company (a table's own definition) is a
// problem of every company.
func isolate(p *Plan, probs *problems) {
	var global []error
	byCompany := map[string][]error{}
	for _, e := range probs.sorted() {
		ce := e.(*ferry.ConfigError)
		if ce.Company == "" {
			global = append(global, e)
			continue
		}
		byCompany[ce.Company] = append(byCompany[ce.Company], e)
	}
	failed := make([]error, len(p.Companies))
	for i, c := range p.Companies {
		errs := append(append([]error(nil), byCompany[companyName(c.Company)]...), global...)
		if len(errs) > 0 {
			failed[i] = errors.Join(errs...)
		}
	}
	*p = dropFailed(*p, failed)
}

// dropFailed moves the companies whose failed[i] is set into p.Failed,
// keeping both lists in company order.
func dropFailed(p Plan, failed []error) Plan {
	kept := p.Companies[:0:0]
	for i, c := range p.Companies {
		if failed[i] != nil {
			p.Failed = append(p.Failed, Failure{Company: c.Company, Err: failed[i]})
			continue
		}
		kept = append(kept, c)
	}
	p.Companies = kept
	sort.SliceStable(p.Failed, func(i, j int) bool { return p.Failed[i].Company.ID < p.Failed[j].Company.ID })
	return p
}
