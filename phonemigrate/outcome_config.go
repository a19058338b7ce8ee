package phonemigrate

import "github.com/unifiedphone/unifiedphone/phonemigrate/outcome"

// Config returns what d found as the input of the delivery model (package
// outcome): who gets which code, through which route, with which words.
// The custom-phone-provider Actions are part of it only once read
// ([Migrator.Discover] reads them; Check and Plan when the provider is
// custom).
func (d *Discovery) Config() outcome.Config {
	cfg := outcome.Config{Switched: d.UPE}
	for _, c := range d.SMSConnections {
		cfg.Connections = append(cfg.Connections, outcome.Connection{ID: c.ID, Name: c.Name, Options: c.Options})
	}
	cfg.MFA.Enabled = d.MFAEnabled
	if d.MFAMessageTypesConfigured {
		cfg.MFA.MessageTypes = append([]string{}, d.MFAMessageTypes.MessageTypes()...)
	}
	cfg.MFA.SelectedProvider = d.MFAProvider
	if t := d.LegacyTwilio; t != nil {
		cfg.MFA.Twilio = &outcome.Twilio{SID: t.SID, From: t.From, MSSID: t.MessagingServiceSID}
	}
	if h := d.HookAction; h != nil {
		cfg.MFA.Hook = &outcome.Hook{ID: h.ID, Name: h.Name}
	}
	if t := d.LegacyTemplates; t != nil {
		cfg.MFA.Templates = &outcome.GuardianTemplates{Enrollment: t.EnrollmentMessage, Verification: t.VerificationMessage}
	}
	if p := d.Provider; p != nil {
		cfg.Provider = &outcome.Provider{ID: p.ID, Name: p.Name, Disabled: p.Disabled, SID: p.Configuration.SID,
			DefaultFrom: p.Configuration.DefaultFrom, MSSID: p.Configuration.MSSID}
		for _, m := range p.Configuration.DeliveryMethods.Methods() {
			cfg.Provider.DeliveryMethods = append(cfg.Provider.DeliveryMethods, string(m))
		}
	}
	for _, t := range d.Templates {
		cfg.Templates = append(cfg.Templates, outcome.Template{Type: t.Type, Customized: t.Customized(), Disabled: t.Disabled,
			From: t.Content.From, Text: t.Content.Text, Voice: t.Content.Voice})
	}
	for _, a := range d.Actions {
		cfg.Actions = append(cfg.Actions, outcome.Action{ID: a.ID, Name: a.Name, Code: a.Code, Deployed: a.Deployed})
	}
	for _, b := range d.Bindings {
		cfg.Bindings = append(cfg.Bindings, b.ActionID)
	}
	return cfg
}
