package delivery_test

import (
	"fmt"

	"github.com/unifiedphone/unifiedphone/delivery"
)

func ExampleParse() {
	for _, in := range []string{"SMS", "sms+voice", "voice, text", "fax"} {
		s, err := delivery.Parse(in)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%q -> %v %v %v\n", in, s, s.Methods(), s.MessageTypes())
	}
	// Output:
	// "SMS" -> SMS [text] [sms]
	// "sms+voice" -> SMS + Voice [text voice] [sms voice]
	// "voice, text" -> SMS + Voice [text voice] [sms voice]
	// error: delivery: unknown delivery method "fax" (want sms, text or voice)
}

func ExampleDecide() {
	passwordless := delivery.Of(delivery.Text)
	current := delivery.Of(delivery.Text, delivery.Voice)

	d, _ := delivery.Decide(passwordless, current, delivery.Of(delivery.Voice))
	fmt.Println(d.Action, d.Missing)
	fmt.Println(d.Reason)

	d, _ = delivery.Decide(passwordless, current, delivery.Of(delivery.Text))
	fmt.Println(d.Action)
	// Output:
	// update_factors SMS
	// Delivery by Voice would no longer cover the SMS phone factor in use; update the phone factors to a subset of Voice, or keep SMS enabled on the tenant-level provider.
	// none
}
