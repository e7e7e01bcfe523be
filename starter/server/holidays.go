package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/holidays"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/routes"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// HolidaysAPI manages franchises' holiday calendars:
//
//	GET    /api/franchises/{franchise}/holidays  200 the calendar (empty when none is set)
//	PUT    /api/franchises/{franchise}/holidays  200 the stored calendar | 400 problems
//	DELETE /api/franchises/{franchise}/holidays  204 | 404 none set
//
// A franchise token manages only its own franchise's calendar (403 for
// another); the admin token manages every franchise's. Runs receive the
// calendar when they enrol (ingest), so a change reaches new enrolments.
type HolidaysAPI struct {
	Store *store.Store
}

// Register adds the routes to mux.
func (a *HolidaysAPI) Register(mux routes.Registrar) {
	mux.HandleFunc("GET /api/franchises/{franchise}/holidays", a.get)
	mux.HandleFunc("PUT /api/franchises/{franchise}/holidays", a.put)
	mux.HandleFunc("DELETE /api/franchises/{franchise}/holidays", a.delete)
}

// franchise is the path's franchise when the caller may manage it; it
// answers otherwise.
func (a *HolidaysAPI) franchise(w http.ResponseWriter, r *http.Request) (string, bool) {
	f := strings.ToLower(r.PathValue("franchise"))
	if _, err := uuid.Parse(f); err != nil || len(f) != 36 {
		ingest.WriteJSON(w, http.StatusBadRequest, ingest.ErrorResponse{Error: "the franchise id must be a UUID",
			Problems: validate.Problems{{Path: "franchise", Message: fmt.Sprintf("must be a UUID, got %q", r.PathValue("franchise"))}}})
		return "", false
	}
	if !auth.FromContext(r.Context()).CanAccess(f) {
		auth.Forbidden(w, "franchise")
		return "", false
	}
	return f, true
}

func (a *HolidaysAPI) get(w http.ResponseWriter, r *http.Request) {
	f, ok := a.franchise(w, r)
	if !ok {
		return
	}
	c, found, err := a.Store.HolidayCalendar(r.Context(), f)
	if err != nil {
		ingest.WriteJSON(w, http.StatusServiceUnavailable, ingest.ErrorResponse{Error: "the store is unavailable"})
		return
	}
	if !found {
		c = store.StoredCalendar{Franchise: f, Calendar: holidays.Calendar{Holidays: []holidays.Holiday{}}}
	}
	ingest.WriteJSON(w, http.StatusOK, c)
}

func (a *HolidaysAPI) put(w http.ResponseWriter, r *http.Request) {
	f, ok := a.franchise(w, r)
	if !ok {
		return
	}
	var cal holidays.Calendar
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<10))
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		err = dec.Decode(&cal)
	}
	if err != nil {
		ingest.WriteJSON(w, http.StatusBadRequest, ingest.ErrorResponse{Error: `the body must be a JSON object {"timezone", "holidays": [{"date": "YYYY-MM-DD", "name"}]}: ` + err.Error()})
		return
	}
	if p := cal.Problems(); len(p) > 0 {
		ingest.WriteJSON(w, http.StatusBadRequest, ingest.ErrorResponse{Error: "invalid holiday calendar", Problems: p})
		return
	}
	cal.Normalize()
	c, err := a.Store.PutHolidayCalendar(r.Context(), f, cal, auth.FromContext(r.Context()).TokenID)
	if err != nil {
		ingest.WriteJSON(w, http.StatusServiceUnavailable, ingest.ErrorResponse{Error: "the store is unavailable; nothing was changed"})
		return
	}
	ingest.WriteJSON(w, http.StatusOK, c)
}

func (a *HolidaysAPI) delete(w http.ResponseWriter, r *http.Request) {
	f, ok := a.franchise(w, r)
	if !ok {
		return
	}
	found, err := a.Store.DeleteHolidayCalendar(r.Context(), f)
	switch {
	case err != nil:
		ingest.WriteJSON(w, http.StatusServiceUnavailable, ingest.ErrorResponse{Error: "the store is unavailable; nothing was changed"})
	case !found:
		ingest.WriteJSON(w, http.StatusNotFound, ingest.ErrorResponse{Error: "the franchise has no holiday calendar"})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
