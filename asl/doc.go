// Package asl is an Amazon States Language engine: it parses and validates
// state machine definitions and executes them in-process.
//
// It knows nothing of any particular application. Task states dispatch to Go
// handlers registered by resource ARN or Lambda function name (see
// Options.Tasks, Options.Resolve and LambdaHandler); Distributed Map item
// readers and result writers are plugged in through the ItemReader and
// ResultWriter interfaces; time comes from an injectable Clock, so tests can
// run Wait states and Retry back-offs on a VirtualClock without sleeping.
//
// Supported: both query languages. JSONPath: InputPath, Parameters,
// ResultSelector, ResultPath, OutputPath, the context object, intrinsic
// functions. JSONata (QueryLanguage at the top or per state): Arguments,
// Output, Assign, Items, ItemSelector, Choice Condition, Catch Output,
// "{% %}" expressions in every field AWS allows them (Wait Seconds and
// Timestamp, TimeoutSeconds, HeartbeatSeconds, MaxConcurrency, tolerated
// failures, ItemBatcher limits, ItemReader and ResultWriter Arguments, Fail
// Error and Cause), $states (input, context, result, errorOutput) and the
// functions Step Functions adds ($partition, $range, $hash, $random,
// $uuid, $parse). Workflow variables (Assign) are shared by states of both
// languages. The state types Task, Pass, Choice, Wait, Succeed, Fail,
// Parallel and Map (inline and DISTRIBUTED with ItemReader, ItemBatcher,
// ResultWriter and tolerated failures), Retry and Catch, task and
// execution timeouts, the Step Functions Local mock configuration format,
// and an execution history shaped like GetExecutionHistory. Validation
// (Parse, ParseWith) reports every problem CreateStateMachine would, with
// AWS's message text where known. Failures carry AWS's error names and
// causes (see testdata/conformance for the rules checked, one per file).
//
// A typical use:
//
//	sm, err := asl.Parse(definition) // *ValidationError lists every problem
//	exec, err := sm.Execute(ctx, input, asl.Options{
//		Tasks: map[string]asl.TaskHandler{"MyFunction": asl.LambdaHandler(lambda.NewHandler(fn))},
//	})
//	fmt.Println(exec.Status, string(exec.Output))
//
// # Tasks
//
// A Task whose Resource is a Lambda function ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) gets the
// state's effective input (after Parameters) as its payload, and the
// function's output is the result. The optimized integration
// arn:aws:states:::lambda:invoke sends Parameters.Payload to
// Parameters.FunctionName (name, name:alias, partial or full ARN;
// Qualifier is honoured) and wraps the output as Step Functions does:
// {"ExecutedVersion","Payload","SdkHttpMetadata","SdkResponseMetadata",
// "StatusCode":200}. Handlers are looked up in Options.Tasks by the exact
// reference, then ARN with qualifier, name:qualifier, unqualified ARN and
// bare name, then through Options.Resolve. A missing Lambda handler fails
// the task with Lambda.ResourceNotFoundException (which States.TaskFailed
// catches); other service integrations without a handler fail with
// States.Runtime "not supported". ".sync" and ".waitForTaskToken" suffixes
// dispatch like the plain resource: the handler's return value is the
// result ($$.Task.Token is set for every Task).
//
// # Errors
//
// Retry counters live in the execution. States.ALL matches every error but
// the terminal States.Runtime and States.DataLimitExceeded; States.TaskFailed
// matches every error but those and States.Timeout. Payloads (execution
// input and output, state input and output, task results, variables) over
// 256 KiB fail with States.DataLimitExceeded.
//
// # Distributed Map
//
// Each item (or ItemBatcher batch) runs as a child execution with its own
// history; the parent history records only MapStateStarted, MapRunStarted
// and MapRunSucceeded/MapRunFailed, whatever the item count. Children's
// events reach the Observer with Observation.MapRunArn set. With a
// ResultWriter Resource the state's result is {"MapRunArn",
// "ResultWriterDetails":{"Bucket","Key"}} and the results are written as
// <Prefix>/<map run id>/SUCCEEDED_0.json, FAILED_0.json and manifest.json.
//
// # Not supported
//
// ItemReader over s3:listObjectsV2, manifests and Parquet; redrive;
// Express-workflow semantics (at-least-once, no history) beyond the
// validation rules; the JSONata functions $formatInteger and
// $parseInteger, and $single with one argument (the JSONata library
// implements JSONata 1.5 plus later functions; see docs/engine.md).
//
// # Timeouts and heartbeats
//
// A Task's TimeoutSeconds (default 99999999) and HeartbeatSeconds, and the
// state machine's TimeoutSeconds, are measured on the execution's Clock
// (see TimerClock). A handler keeps a task with HeartbeatSeconds alive by
// calling Heartbeat(ctx), as a worker calls SendTaskHeartbeat; this engine
// enforces HeartbeatSeconds on every Task, so a handler that never
// heartbeats fails with States.HeartbeatTimeout once HeartbeatSeconds have
// passed (on AWS only activities and callback or job-run tasks heartbeat,
// so a request-response Lambda task should not set HeartbeatSeconds). When
// a timeout fires the handler's context is cancelled and the task fails
// with States.Timeout or States.HeartbeatTimeout (history TaskTimedOut or
// LambdaFunctionTimedOut); ErrorEquals ["States.Timeout"] matches both,
// States.TaskFailed neither. On a VirtualClock a timer fires when
// VirtualClock.Advance (a test handler's simulated work) reaches it, or
// when the same time has really elapsed, so a hung handler still times
// out; the engine's own virtual sleeps never time out a running task.
package asl
