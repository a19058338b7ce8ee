package phonemigratetest

import (
	"encoding/json"
	"net/http"
	"time"
)

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// registerControl serves the test-control API under /__fake/.
func (s *Server) registerControl(mux *http.ServeMux) {
	mux.HandleFunc("/__fake/", func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, "no such control endpoint: "+r.Method+" "+r.URL.Path)
	})
	mux.HandleFunc("GET /__fake/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /__fake/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	mux.HandleFunc("DELETE /__fake/requests", func(w http.ResponseWriter, r *http.Request) {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /__fake/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := decodeStrict(r, &f); err != nil {
			controlError(w, http.StatusBadRequest, "fault: "+err.Error())
			return
		}
		switch {
		case f.Path == "":
			controlError(w, http.StatusBadRequest, "fault: path is required")
			return
		case f.Status != 0 && (f.Status < 100 || f.Status > 599):
			controlError(w, http.StatusBadRequest, "fault: status must be an HTTP status")
			return
		case f.Times < 0 || f.DelayMS < 0:
			controlError(w, http.StatusBadRequest, "fault: times and delay_ms must not be negative")
			return
		case f.Status == 0 && !f.Drop && f.DelayMS == 0:
			controlError(w, http.StatusBadRequest, "fault: set status, drop or delay_ms")
			return
		}
		s.InjectFault(f)
		writeJSON(w, http.StatusCreated, f)
	})
	mux.HandleFunc("DELETE /__fake/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /__fake/ratelimit", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			PerSecond float64 `json:"per_second"`
			Burst     int     `json:"burst"`
		}
		if err := decodeStrict(r, &in); err != nil {
			controlError(w, http.StatusBadRequest, "ratelimit: "+err.Error())
			return
		}
		if in.Burst < 0 {
			controlError(w, http.StatusBadRequest, "ratelimit: burst must not be negative")
			return
		}
		s.SetRateLimit(in.PerSecond, in.Burst)
		s.mu.Lock()
		out := map[string]any{"per_second": s.perSec, "burst": s.burst}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /__fake/notify", func(w http.ResponseWriter, r *http.Request) {
		var in NotifyRequest
		if err := decodeStrict(r, &in); err != nil {
			controlError(w, http.StatusBadRequest, "notify: "+err.Error())
			return
		}
		res, err := s.Notify(r.Context(), in)
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /__fake/traffic", func(w http.ResponseWriter, r *http.Request) {
		var in Traffic
		if err := decodeStrict(r, &in); err != nil {
			controlError(w, http.StatusBadRequest, "traffic: "+err.Error())
			return
		}
		if err := s.StartTraffic(in); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusAccepted, s.TrafficStatus())
	})
	mux.HandleFunc("GET /__fake/traffic", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.TrafficStatus())
	})
	mux.HandleFunc("DELETE /__fake/traffic", func(w http.ResponseWriter, r *http.Request) {
		s.StopTraffic()
		writeJSON(w, http.StatusOK, s.TrafficStatus())
	})
	mux.HandleFunc("POST /__fake/break", func(w http.ResponseWriter, r *http.Request) {
		var in DeliveryBreak
		if err := decodeStrict(r, &in); err != nil {
			controlError(w, http.StatusBadRequest, "break: "+err.Error())
			return
		}
		if err := s.BreakDelivery(in); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /__fake/break", func(w http.ResponseWriter, r *http.Request) {
		s.RestoreDelivery()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /__fake/phonelimit", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			PerRecipient int `json:"per_recipient"`
			WindowMS     int `json:"window_ms"`
		}
		if err := decodeStrict(r, &in); err != nil {
			controlError(w, http.StatusBadRequest, "phonelimit: "+err.Error())
			return
		}
		if in.PerRecipient > 0 && in.WindowMS <= 0 {
			controlError(w, http.StatusBadRequest, "phonelimit: window_ms must be positive")
			return
		}
		s.SetPhoneLimit(in.PerRecipient, time.Duration(in.WindowMS)*time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /__fake/gateway/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.gateway.Messages())
	})
	s.registerTwilioControl(mux)
}
