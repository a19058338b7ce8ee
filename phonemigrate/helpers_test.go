package phonemigrate_test

import (
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// cmpTenant compares memTenant snapshots on their state only.
var cmpTenant = cmp.Options{cmpopts.IgnoreUnexported(memTenant{}), cmpopts.IgnoreFields(memTenant{}, "Tokens", "BuildPolls"), cmpopts.EquateEmpty()}

// cmpIDs ignores generated ids (they differ between runs that retried).
var cmpIDs = cmp.Options{
	cmpopts.IgnoreFields(phonemigrate.PhoneProvider{}, "ID"),
	cmpopts.IgnoreFields(phonemigrate.Action{}, "ID"),
	cmpopts.IgnoreFields(phonemigrate.Binding{}, "ID", "ActionID"),
	cmpopts.IgnoreFields(phonemigrate.PhoneTemplate{}, "ID"),
}
