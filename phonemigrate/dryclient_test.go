package phonemigrate

import (
	"reflect"
	"regexp"
	"testing"
)

// TestDryClientSendsNoWrite: a rollback plan's dryClient passes to the
// real client only the methods of clientReads, and those are reads. A
// write method added to Client does not compile into dryClient until it
// has a method of its own (var _ Client = (*dryClient)(nil)); this test
// fails when one is passed through as a "read" instead.
func TestDryClientSendsNoWrite(t *testing.T) {
	t.Parallel()
	write := regexp.MustCompile(`^(Set|Replace|Create|Update|Delete|Deploy|Test)[A-Z]`)
	reads := reflect.TypeFor[clientReads]()
	for i := range reads.NumMethod() {
		if name := reads.Method(i).Name; write.MatchString(name) {
			t.Errorf("clientReads passes %s, a write, to the real client: give dryClient a method of its own that records or refuses it", name)
		}
	}
	client := reflect.TypeFor[Client]()
	dry := reflect.TypeFor[*dryClient]()
	writes := 0
	for i := range client.NumMethod() {
		name := client.Method(i).Name
		if !write.MatchString(name) {
			if _, ok := reads.MethodByName(name); !ok {
				t.Errorf("Client.%s is neither a write (by its verb) nor in clientReads", name)
			}
			continue
		}
		writes++
		// dryClient's own method, not the embedded reads' (promoted
		// methods have an index in the embedded type only).
		if m, ok := dry.MethodByName(name); !ok || !ownMethod(dry, m) {
			t.Errorf("dryClient has no method of its own for the write %s", name)
		}
	}
	if writes == 0 {
		t.Fatal("no write method found in Client: the verb pattern is out of date")
	}
}

// ownMethod reports whether m is declared on *dryClient itself rather
// than promoted from an embedded field.
func ownMethod(t reflect.Type, m reflect.Method) bool {
	f, ok := t.Elem().FieldByName("clientReads")
	if !ok {
		return true
	}
	_, promoted := f.Type.MethodByName(m.Name)
	return !promoted
}
