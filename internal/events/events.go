// Package events publishes "Ferry Tables Swapped" to Amazon EventBridge after
// a company's tables are swapped, so downstream consumers (BI cache
// refreshes, notifications) can subscribe with an EventBridge rule:
//
//	{"source": ["ferry"], "detail-type": ["Ferry Tables Swapped"]}
//
// Publishing is optional (a nil *Publisher does nothing) and happens after
// the swap has committed: a failure to publish is returned as retryable, and
// a retried swap-tables publishes again (consumers must be idempotent on
// run_id + company_id).
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/ferrydata/ferry"
)

// Source and DetailType identify Ferry's event.
const (
	Source     = "ferry"
	DetailType = "Ferry Tables Swapped"
)

// API is the part of the EventBridge client the publisher uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher sends events to one event bus.
type Publisher struct {
	api API
	bus string
}

// New returns a Publisher on bus ("default" when empty).
func New(api API, bus string) *Publisher {
	if bus == "" {
		bus = "default"
	}
	return &Publisher{api: api, bus: bus}
}

// Open is New over an EventBridge client from cfg (endpoint, when set,
// overrides the service's: tests). It is what swap-tables' main gives
// internal/wire (wire.WithNotifier(events.Open)).
func Open(cfg aws.Config, bus, endpoint string) *Publisher {
	return New(eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), bus)
}

// Detail is the event's detail.
type Detail struct {
	RunID     string        `json:"run_id"`
	CompanyID int64         `json:"company_id"`
	Company   string        `json:"company"`
	Schema    string        `json:"schema"`
	Tables    []TableDetail `json:"tables"`
	Rows      int64         `json:"rows"`
	SwappedAt time.Time     `json:"swapped_at"`
}

// TableDetail is one swapped table.
type TableDetail struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// TablesSwapped publishes one event for a company's swap. A nil Publisher
// does nothing.
func (p *Publisher) TablesSwapped(ctx context.Context, schema string, out ferry.SwapTablesOutput) error {
	if p == nil {
		return nil
	}
	d := Detail{RunID: out.RunID, CompanyID: out.CompanyID, Company: out.Alias, Schema: schema, Rows: out.Rows, SwappedAt: out.SwappedAt.UTC()}
	for _, t := range out.Tables {
		d.Tables = append(d.Tables, TableDetail{Table: t.Table, Rows: t.Rows})
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("events: encode %s for company %s: %w", DetailType, out.Alias, err)
	}
	res, err := p.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source:       aws.String(Source),
		DetailType:   aws.String(DetailType),
		Detail:       aws.String(string(b)),
		EventBusName: aws.String(p.bus),
		Time:         aws.Time(d.SwappedAt),
	}}})
	if err != nil {
		return ferry.Retryable("events: put "+DetailType+" for company "+out.Alias, err)
	}
	if res.FailedEntryCount > 0 {
		code, msg := "", ""
		if len(res.Entries) > 0 {
			code, msg = aws.ToString(res.Entries[0].ErrorCode), aws.ToString(res.Entries[0].ErrorMessage)
		}
		return ferry.Retryable("events: put "+DetailType+" for company "+out.Alias, fmt.Errorf("rejected by bus %s: %s %s", p.bus, code, msg))
	}
	return nil
}
