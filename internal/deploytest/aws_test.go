package deploytest

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// block returns the lines of the block under keys, as "key: value" (or the
// list item) each, for substring checks.
func block(t *testing.T, lines []yline, keys ...string) string {
	t.Helper()
	i, ok := lookup(lines, keys...)
	if !ok {
		t.Fatalf("template.yaml has no %s", strings.Join(keys, "."))
	}
	var b []string
	for j := i + 1; j < len(lines) && lines[j].indent > lines[i].indent; j++ {
		if lines[j].key != "" {
			b = append(b, lines[j].key+": "+lines[j].val)
		} else {
			b = append(b, lines[j].val)
		}
	}
	return strings.Join(b, "\n")
}

// TestScheduleIsStackScoped: the schedule lets CloudFormation name it (a
// second stack in the account and Region must not collide) and passes the
// scheduled time, from which run_date is taken in the schedule's time zone.
func TestScheduleIsStackScoped(t *testing.T) {
	lines := loadTemplate(t)
	p := childMap(lines, mustLookup(t, lines, "Resources", "FerryStateMachine", "Properties", "Events", "Nightly", "Properties"))
	if p["OmitName"] != "true" {
		t.Errorf("schedule OmitName %q, want true", p["OmitName"])
	}
	if _, named := p["Name"]; named {
		t.Error("the schedule has a fixed Name")
	}
	in, err := strconv.Unquote(`"` + strings.ReplaceAll(strings.Trim(p["Input"], `'`), `"`, `\"`) + `"`)
	if err != nil {
		t.Fatal(err)
	}
	var input map[string]string
	if err := json.Unmarshal([]byte(in), &input); err != nil || input["scheduled_time"] != "<aws.scheduler.scheduled-time>" {
		t.Errorf("schedule Input %s (%v): want {\"scheduled_time\": \"<aws.scheduler.scheduled-time>\"}", in, err)
	}
}

// TestNoStaleBuildCache: SAM's build cache is keyed on the CodeUri folder
// only, so a change in internal/ would deploy the previous binary.
func TestNoStaleBuildCache(t *testing.T) {
	toml := string(read(t, "samconfig.toml"))
	for _, l := range strings.Split(toml, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "cached") && strings.ReplaceAll(l, " ", "") != "cached=false" {
			t.Errorf("samconfig.toml: %q (want cached = false)", l)
		}
	}
}

// TestVpcEndpoints: behind CreateVpcEndpoints, an S3 gateway endpoint and
// interface endpoints for Secrets Manager and (with the event bus)
// EventBridge, with private DNS and a security group admitting HTTPS.
func TestVpcEndpoints(t *testing.T) {
	lines := loadTemplate(t)
	want := map[string][]string{
		"S3GatewayEndpoint":        {"Condition: EndpointsOn", "VpcEndpointType: Gateway", `.s3"`, "RouteTableIds: !Ref RouteTableIds"},
		"SecretsManagerEndpoint":   {"Condition: EndpointsOn", "VpcEndpointType: Interface", `.secretsmanager"`, "PrivateDnsEnabled: true", "SecurityGroupIds: [!Ref VpcEndpointSecurityGroup]"},
		"EventBridgeEndpoint":      {"Condition: EventsEndpointOn", "VpcEndpointType: Interface", `.events"`, "PrivateDnsEnabled: true", "SecurityGroupIds: [!Ref VpcEndpointSecurityGroup]"},
		"VpcEndpointSecurityGroup": {"Condition: EndpointsOn", "IpProtocol: tcp", "FromPort: 443", "ToPort: 443", "SourceSecurityGroupId: !Select [0, !Ref SecurityGroupIds]"},
	}
	for res, parts := range want {
		b := block(t, lines, "Resources", res)
		for _, p := range parts {
			if !strings.Contains(b, p) {
				t.Errorf("%s lacks %q:\n%s", res, p, b)
			}
		}
	}
	conds := block(t, lines, "Conditions")
	for _, c := range []string{`EndpointsOn: !Equals [!Ref CreateVpcEndpoints, "true"]`, "EventsEndpointOn: !And [!Condition EndpointsOn, !Condition EventsOn]"} {
		if !strings.Contains(conds, c) {
			t.Errorf("Conditions lack %q", c)
		}
	}
}

// TestSecretsAndTLS: every function that reads a database secret may read
// the CA bundle and, with a customer managed key, decrypt through Secrets
// Manager only; host, port and database can come from parameters (for
// secrets RDS manages, which hold only username and password).
func TestSecretsAndTLS(t *testing.T) {
	lines := loadTemplate(t)
	for _, fn := range []string{"ListTablesFunction", "ExportChunkFunction", "LoadChunkFunction", "SwapTablesFunction"} {
		b := block(t, lines, "Resources", fn, "Properties", "Policies")
		for _, p := range []string{
			"Action: s3:GetObject", `Resource: !Sub "arn:${AWS::Partition}:s3:::${DatabaseCABundle}"`,
			"SecretsKmsKeyOn", "Action: kms:Decrypt", "Resource: !Ref SecretsKmsKeyArn",
			`ViaService: !Sub "secretsmanager.${AWS::Region}.amazonaws.com"`, // (key kms:ViaService)
		} {
			if !strings.Contains(b, p) {
				t.Errorf("%s policies lack %q", fn, p)
			}
		}
	}
	env := childMap(lines, mustLookup(t, lines, "Globals", "Function", "Environment", "Variables"))
	for _, db := range []string{"Admin", "Source", "Target"} {
		for _, part := range []string{"Host", "Port", "Database"} {
			k := "FERRY_" + strings.ToUpper(db) + "_" + strings.ToUpper(part)
			if env[k] != "!Ref "+db+part {
				t.Errorf("Globals env %s = %q, want !Ref %s%s", k, env[k], db, part)
			}
		}
	}
	if env["FERRY_DB_CA_BUNDLE"] != `!Sub "s3://${DatabaseCABundle}"` {
		t.Errorf("FERRY_DB_CA_BUNDLE = %q", env["FERRY_DB_CA_BUNDLE"])
	}
}

// TestRedriveAndSizes: the state machine may redrive its Map Runs'
// children; the swap has the Lambda maximum and export one full vCPU.
func TestRedriveAndSizes(t *testing.T) {
	lines := loadTemplate(t)
	b := block(t, lines, "Resources", "FerryStateMachine", "Properties", "Policies")
	if !strings.Contains(b, "Action: states:RedriveExecution\nResource: !Sub \"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-ferry/*\"") {
		t.Errorf("no states:RedriveExecution on the Map Runs' child executions:\n%s", b)
	}
	size := func(fn, k string) int {
		n, _ := strconv.Atoi(childMap(lines, mustLookup(t, lines, "Resources", fn, "Properties"))[k])
		return n
	}
	if size("ExportChunkFunction", "MemorySize") < 1769 {
		t.Error("export-chunk has less than one vCPU (1,769 MB) for its CPU-bound CSV and gzip work")
	}
	if size("SwapTablesFunction", "Timeout") != 900 {
		t.Error("swap-tables must have the 900 s maximum (it counts staging tables and waits on locks)")
	}
}

func mustLookup(t *testing.T, lines []yline, keys ...string) int {
	t.Helper()
	i, ok := lookup(lines, keys...)
	if !ok {
		t.Fatalf("template.yaml has no %s", strings.Join(keys, "."))
	}
	return i
}
