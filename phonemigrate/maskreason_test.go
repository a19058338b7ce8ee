package phonemigrate_test

import (
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// TestMaskReasonPhoneForms (#23 item 7): a phone number in a log reason is
// masked however it is written — non-breaking or thin spaces, U+2011 or an
// en dash, '/', '_', ',', full-width or Arabic-Indic digits — and known
// secrets and URL credentials in the reason are removed.
func TestMaskReasonPhoneForms(t *testing.T) {
	t.Parallel()
	for _, number := range []string{
		"+1 555 123 4567",
		"+1\u00a0555\u00a0123\u00a04567",
		"+1\u2009555\u2009123\u20094567",
		"+1\u202f555\u202f123\u202f4567",
		"+1\u2011555\u20111234567",
		"+1\u2013555\u20131234567",
		"+1/555/123/4567",
		"+1_555_123_4567",
		"+1,555,123,4567",
		"+\uff11\uff15\uff15\uff15\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
		"+\u0661\u0665\u0665\u0665\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
		"(555) 123-4567",
	} {
		got := watch.MaskReason("delivery to " + number + " failed")
		if !strings.Contains(got, "•") {
			t.Errorf("MaskReason(%q) = %q: not masked", number, got)
		}
		for _, part := range []string{"555", "123", "\uff15\uff15\uff15", "\u0665\u0665\u0665"} {
			if strings.Contains(got, part) {
				t.Errorf("MaskReason(%q) = %q: %q left", number, got, part)
			}
		}
	}
	for _, keep := range []string{"HTTP 500 after 3 attempts", "code 21211"} {
		if got := watch.MaskReason(keep); got != keep {
			t.Errorf("MaskReason(%q) = %q; not a phone number", keep, got)
		}
	}
	got := watch.MaskReason("POST https://gwuser:gw-Pa55@sms.example/send failed with mgmt-tok-123", "mgmt-tok-123")
	for _, s := range []string{"gwuser", "gw-Pa55", "mgmt-tok-123"} {
		if strings.Contains(got, s) {
			t.Errorf("MaskReason left %q: %q", s, got)
		}
	}
}
