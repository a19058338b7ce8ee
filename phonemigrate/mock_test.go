package phonemigrate_test

import (
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
)

// mockOver returns a gomock MockClient in front of mt. pre sets
// expectations first, so they take precedence (gomock matches expectations
// in the order they were set). Reads always fall through to mt. Writes fall
// through too unless strict, in which case every write must be expected by
// pre (that is how InOrder tests pin the order of writes).
func mockOver(t *testing.T, mt *memTenant, strict bool, pre func(m *mock_phonemigrate.MockClient)) *mock_phonemigrate.MockClient {
	t.Helper()
	ctrl := gomock.NewController(t)
	m := mock_phonemigrate.NewMockClient(ctrl)
	if pre != nil {
		pre(m)
	}
	e := m.EXPECT()
	e.TenantSettings(gomock.Any()).DoAndReturn(mt.TenantSettings).AnyTimes()
	e.ListSMSConnections(gomock.Any()).DoAndReturn(mt.ListSMSConnections).AnyTimes()
	e.GetConnection(gomock.Any(), gomock.Any()).DoAndReturn(mt.GetConnection).AnyTimes()
	e.GuardianFactors(gomock.Any()).DoAndReturn(mt.GuardianFactors).AnyTimes()
	e.PhoneMessageTypes(gomock.Any()).DoAndReturn(mt.PhoneMessageTypes).AnyTimes()
	e.SelectedPhoneProvider(gomock.Any()).DoAndReturn(mt.SelectedPhoneProvider).AnyTimes()
	e.LegacyTwilio(gomock.Any()).DoAndReturn(mt.LegacyTwilio).AnyTimes()
	e.LegacyPhoneTemplates(gomock.Any()).DoAndReturn(mt.LegacyPhoneTemplates).AnyTimes()
	e.ListPhoneProviders(gomock.Any()).DoAndReturn(mt.ListPhoneProviders).AnyTimes()
	e.ListPhoneTemplates(gomock.Any()).DoAndReturn(mt.ListPhoneTemplates).AnyTimes()
	e.GetAction(gomock.Any(), gomock.Any()).DoAndReturn(mt.GetAction).AnyTimes()
	e.ListActionsByTrigger(gomock.Any(), gomock.Any()).DoAndReturn(mt.ListActionsByTrigger).AnyTimes()
	e.TriggerBindings(gomock.Any(), gomock.Any()).DoAndReturn(mt.TriggerBindings).AnyTimes()
	if strict {
		return m
	}
	e.SetPhoneConsolidatedExperience(gomock.Any(), gomock.Any()).DoAndReturn(mt.SetPhoneConsolidatedExperience).AnyTimes()
	e.ReplaceConnectionOptions(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.ReplaceConnectionOptions).AnyTimes()
	e.SetPhoneMessageTypes(gomock.Any(), gomock.Any()).DoAndReturn(mt.SetPhoneMessageTypes).AnyTimes()
	e.CreatePhoneProvider(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreatePhoneProvider).AnyTimes()
	e.UpdatePhoneProvider(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.UpdatePhoneProvider).AnyTimes()
	e.DeletePhoneProvider(gomock.Any(), gomock.Any()).DoAndReturn(mt.DeletePhoneProvider).AnyTimes()
	e.TestPhoneProvider(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.TestPhoneProvider).AnyTimes()
	e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreatePhoneTemplate).AnyTimes()
	e.UpdatePhoneTemplate(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.UpdatePhoneTemplate).AnyTimes()
	e.DeletePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.DeletePhoneTemplate).AnyTimes()
	e.CreateAction(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreateAction).AnyTimes()
	e.DeployAction(gomock.Any(), gomock.Any()).DoAndReturn(mt.DeployAction).AnyTimes()
	e.DeleteAction(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.DeleteAction).AnyTimes()
	e.SetTriggerBindings(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.SetTriggerBindings).AnyTimes()
	return m
}
