package ferry

import _ "embed"

// Template is the SAM template (template.yaml), embedded so that `ferry
// run` and `ferry demo` resolve the state machine's DefinitionSubstitutions
// from the very file that is deployed.
//
//go:embed template.yaml
var Template []byte
