package asl

import (
	"regexp"
	"strings"
)

// optimizedIntegrations lists the optimized service integrations
// (arn:aws:states:::SERVICE:ACTION) and the integration patterns each
// supports besides request-response ("sync": .sync, "sync2": .sync:2,
// "token": .waitForTaskToken), from the Step Functions developer guide
// (connect-supported-services, "Integrating optimized services").
var optimizedIntegrations = map[string]string{
	"lambda:invoke":                                    "token",
	"batch:submitJob":                                  "sync token",
	"dynamodb:getItem":                                 "",
	"dynamodb:putItem":                                 "",
	"dynamodb:updateItem":                              "",
	"dynamodb:deleteItem":                              "",
	"ecs:runTask":                                      "sync token",
	"sns:publish":                                      "token",
	"sqs:sendMessage":                                  "token",
	"glue:startJobRun":                                 "sync token",
	"glue:startCrawler":                                "",
	"databrew:startJobRun":                             "sync",
	"states:startExecution":                            "sync sync2 token",
	"events:putEvents":                                 "token",
	"apigateway:invoke":                                "token",
	"athena:startQueryExecution":                       "sync",
	"athena:stopQueryExecution":                        "",
	"athena:getQueryExecution":                         "",
	"athena:getQueryResults":                           "",
	"codebuild:startBuild":                             "sync",
	"codebuild:stopBuild":                              "",
	"codebuild:batchDeleteBuilds":                      "",
	"codebuild:batchGetReports":                        "",
	"codebuild:startBuildBatch":                        "sync",
	"codebuild:stopBuildBatch":                         "",
	"codebuild:retryBuildBatch":                        "sync",
	"codebuild:retryBuild":                             "sync",
	"codebuild:deleteBuildBatch":                       "",
	"eks:createCluster":                                "sync",
	"eks:deleteCluster":                                "sync",
	"eks:createFargateProfile":                         "sync",
	"eks:deleteFargateProfile":                         "sync",
	"eks:createNodegroup":                              "sync",
	"eks:deleteNodegroup":                              "sync",
	"eks:runJob":                                       "sync",
	"eks:call":                                         "",
	"elasticmapreduce:createCluster":                   "sync",
	"elasticmapreduce:terminateCluster":                "sync",
	"elasticmapreduce:addStep":                         "sync",
	"elasticmapreduce:cancelStep":                      "",
	"elasticmapreduce:setClusterTerminationProtection": "",
	"elasticmapreduce:modifyInstanceFleetByName":       "",
	"elasticmapreduce:modifyInstanceGroupByName":       "",
	"emr-containers:startJobRun":                       "sync",
	"emr-containers:createVirtualCluster":              "",
	"emr-containers:deleteVirtualCluster":              "sync",
	"emr-serverless:createApplication":                 "sync",
	"emr-serverless:startApplication":                  "sync",
	"emr-serverless:stopApplication":                   "sync",
	"emr-serverless:deleteApplication":                 "sync",
	"emr-serverless:startJobRun":                       "sync",
	"emr-serverless:cancelJobRun":                      "sync",
	"mediaconvert:createJob":                           "sync",
	"bedrock:invokeModel":                              "",
	"bedrock:createModelCustomizationJob":              "sync",
	"sagemaker:createEndpoint":                         "",
	"sagemaker:createEndpointConfig":                   "",
	"sagemaker:createHyperParameterTuningJob":          "sync",
	"sagemaker:createLabelingJob":                      "sync",
	"sagemaker:createModel":                            "",
	"sagemaker:createProcessingJob":                    "sync",
	"sagemaker:createTrainingJob":                      "sync",
	"sagemaker:createTransformJob":                     "sync",
	"sagemaker:updateEndpoint":                         "",
	"http:invoke":                                      "",
}

// sdkIntegration matches an AWS SDK integration: aws-sdk:SERVICE:ACTION.
var sdkIntegration = regexp.MustCompile(`^aws-sdk:[a-z0-9-]+:[a-z][A-Za-z0-9]*$`)

// checkResource reports a Task Resource AWS's CreateStateMachine refuses:
// an arn:aws:states::: integration that does not exist (or does not
// support the suffix's integration pattern), and, in an EXPRESS state
// machine, .sync and .waitForTaskToken integrations and activities.
func (p *parser) checkResource(arn, w string) {
	if !strings.HasPrefix(arn, "arn:") {
		p.add(w, "SCHEMA_VALIDATION_FAILED: Value is not a valid resource ARN: %q", arn)
		return
	}
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 6 || parts[2] != "states" {
		return // a Lambda function, or another service's ARN: checked when called
	}
	if parts[5] == "activity" {
		if p.express {
			p.add(w, "SCHEMA_VALIDATION_FAILED: Express state machine does not support activities")
		}
		return
	}
	if len(parts) != 7 || parts[3] != "" || parts[4] != "" {
		p.add(w, "SCHEMA_VALIDATION_FAILED: The resource provided %s is not recognized. The value is not a valid resource ARN, or the resource is not available in this region.", arn)
		return
	}
	p.checkIntegration(arn, parts[5]+":"+parts[6], w)
}

// checkIntegration checks SERVICE:ACTION[.suffix] of an integration ARN.
func (p *parser) checkIntegration(arn, ref, w string) {
	base, pattern := ref, ""
	for _, sfx := range []struct{ suffix, name string }{{".waitForTaskToken", "token"}, {".sync:2", "sync2"}, {".sync", "sync"}} {
		if strings.HasSuffix(ref, sfx.suffix) {
			base, pattern = strings.TrimSuffix(ref, sfx.suffix), sfx.name
			break
		}
	}
	patterns, known := optimizedIntegrations[base]
	switch {
	case !known && sdkIntegration.MatchString(base):
		known, patterns = true, "token"
	case !known && strings.HasPrefix(base, "aws-sdk:"):
		known = false
	}
	if !known || (pattern != "" && !strings.Contains(" "+patterns+" ", " "+pattern+" ")) {
		p.add(w, "SCHEMA_VALIDATION_FAILED: The resource provided %s is not recognized. The value is not a valid resource ARN, or the resource is not available in this region.", arn)
		return
	}
	if p.express && pattern != "" {
		name := map[string]string{"token": ".waitForTaskToken", "sync": ".sync", "sync2": ".sync:2"}[pattern]
		p.add(w, "SCHEMA_VALIDATION_FAILED: Express state machine does not support '%s' service integration", name)
	}
}
