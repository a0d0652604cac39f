package asl

import (
	"fmt"
	"strings"
)

// resource classifies a Task Resource.
type resource struct {
	arn          string
	lambdaARN    bool   // arn:aws:lambda:...:function:NAME
	lambdaInvoke bool   // arn:aws:states:::lambda:invoke
	service      string // for arn:aws:states:::SERVICE:ACTION
	action       string
}

func parseResource(arn string) resource {
	r := resource{arn: arn}
	base := strings.TrimSuffix(strings.TrimSuffix(arn, ".waitForTaskToken"), ".sync")
	parts := strings.Split(base, ":")
	switch {
	case len(parts) >= 7 && parts[2] == "lambda" && parts[5] == "function":
		r.lambdaARN = true
	case len(parts) >= 7 && parts[2] == "states" && parts[3] == "" && parts[4] == "":
		r.service, r.action = parts[5], strings.Join(parts[6:], ":")
		r.lambdaInvoke = r.service == "lambda" && r.action == "invoke"
	case len(parts) >= 7 && parts[2] == "states" && parts[5] == "activity":
		r.service, r.action = "activity", parts[6]
	}
	return r
}

// functionName splits a Lambda function reference (name, name:qualifier,
// ACCOUNT:function:name[:q] or a full ARN) into name and qualifier.
func functionName(ref string) (name, qualifier string) {
	parts := strings.Split(ref, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			name = parts[i+1]
			if i+2 < len(parts) {
				qualifier = parts[i+2]
			}
			return name, qualifier
		}
	}
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	return ref, ""
}

// lookup finds the handler for a resource or function reference.
func (r *run) lookup(keys ...string) (TaskHandler, bool) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if h, ok := r.opts.Tasks[k]; ok && h != nil {
			return h, true
		}
	}
	if r.opts.Resolve != nil {
		for _, k := range keys {
			if k == "" {
				continue
			}
			if h, ok := r.opts.Resolve(k); ok && h != nil {
				return h, true
			}
		}
	}
	return nil, false
}

func lambdaKeys(ref, region, account string) []string {
	name, q := functionName(ref)
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, name)
	keys := []string{ref}
	if q != "" {
		keys = append(keys, arn+":"+q, name+":"+q)
	}
	return append(keys, arn, name)
}

// route finds how to call the resource: the handler lookup keys, the
// Lambda function reference and the payload (lambda:invoke sends
// Parameters.Payload to Parameters.FunctionName).
func (t *thread) route(c *taskCall, arn string) error {
	r := t.r
	c.payload = c.input
	switch {
	case c.res.lambdaARN:
		c.fnRef = arn
		c.keys = lambdaKeys(arn, r.opts.Region, r.opts.Account)
	case c.res.lambdaInvoke:
		m, _ := c.input.(map[string]any)
		c.fnRef, _ = m["FunctionName"].(string)
		if c.fnRef == "" {
			return newErr(ErrRuntime, "state %q: the lambda:invoke integration needs Parameters.FunctionName", c.st.Name)
		}
		if q, _ := m["Qualifier"].(string); q != "" {
			if _, fq := functionName(c.fnRef); fq == "" {
				c.fnRef += ":" + q
			}
		}
		c.payload = m["Payload"]
		if _, has := m["Payload"]; !has {
			c.payload = map[string]any{}
		}
		c.keys = lambdaKeys(c.fnRef, r.opts.Region, r.opts.Account)
	default:
		c.keys = []string{arn}
	}
	return nil
}

func (t *thread) missingHandler(st *State, res resource, fnRef string) error {
	switch {
	case res.lambdaARN || res.lambdaInvoke:
		name, _ := functionName(fnRef)
		return &TaskError{Name: "Lambda.ResourceNotFoundException", Cause: fmt.Sprintf(
			"Function not found: %s (state %q): no handler is registered for it; register one in Options.Tasks under the function name %q or its ARN, or mock the state", fnRef, st.Name, name)}
	case res.service != "":
		return &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf(
			"state %q: the service integration %q is not supported by this engine unless a handler is registered for it in Options.Tasks or the state is mocked", st.Name, res.arn)}
	}
	return &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf("state %q: unknown Task resource %q: no handler is registered for it", st.Name, res.arn)}
}

// invokeResult wraps a function's output as the lambda:invoke integration
// returns it.
func (t *thread) invokeResult(fnRef string, payload any) any {
	_, q := functionName(fnRef)
	version := "$LATEST"
	if q != "" && strings.Trim(q, "0123456789") == "" {
		version = q
	}
	rid := t.nextID("request")
	headers := map[string]any{
		"Content-Type":           "application/json",
		"X-Amz-Executed-Version": version,
		"x-amzn-RequestId":       rid,
	}
	all := map[string]any{}
	for k, v := range headers {
		all[k] = []any{v}
	}
	return map[string]any{
		"ExecutedVersion": version,
		"Payload":         payload,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": all,
			"HttpHeaders":    headers,
			"HttpStatusCode": int64(200),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": rid},
		"StatusCode":          int64(200),
	}
}
