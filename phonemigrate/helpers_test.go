package phonemigrate_test

import (
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpTenant compares memTenant snapshots on their state only.
var cmpTenant = cmp.Options{cmpopts.IgnoreUnexported(memTenant{}), cmpopts.IgnoreFields(memTenant{}, "Tokens", "BuildPolls"), cmpopts.EquateEmpty()}
