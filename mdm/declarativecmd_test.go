package mdm

import "testing"

func TestDeclarativeManagementValidate(t *testing.T) {
	good := []string{"", `{"SyncTokens":{"DeclarationsToken":"abc","Timestamp":"2026-01-01T00:00:00Z"}}`, `{"SyncTokens":{}}`}
	for _, data := range good {
		if _, err := NewDeclarativeManagement([]byte(data)); err != nil {
			t.Errorf("%q: %v", data, err)
		}
	}
	bad := []string{`{}`, `[]`, `{"SyncTokens":null}`, `{"SyncTokens":"x"}`, `not json`, `{"SyncTokens":{}`}
	for _, data := range bad {
		if _, err := NewDeclarativeManagement([]byte(data)); err == nil {
			t.Errorf("%q accepted", data)
		}
	}
}
