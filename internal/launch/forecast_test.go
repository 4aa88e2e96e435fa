package launch

import (
	"testing"
	"time"
)

func TestForecast(t *testing.T) {
	at := func(h, m int) *time.Time { v := time.Date(2026, 12, 8, h, m, 0, 0, time.UTC); return &v }
	now := *at(10, 0)
	api := MemberStages{Name: "api", Version: "1.0.0", Stages: []StageEstimate{
		{Name: "dev", Done: at(9, 0)},
		{Name: "staging", After: []string{"dev"}, Started: at(9, 50), Verify: 30 * time.Minute},
		{Name: "prod", After: []string{"staging"}, Soak: time.Hour, Verify: 30 * time.Minute},
	}}
	web := MemberStages{Name: "web", Version: "1.2.0", Stages: []StageEstimate{
		{Name: "dev", Done: at(9, 30)},
		{Name: "staging", After: []string{"dev"}, NotBefore: at(12, 0)},
		{Name: "prod", After: []string{"staging"}},
	}, Opens: func(stage string, t time.Time) time.Time {
		// prod is frozen until 13:00.
		if stage == "prod" && t.Before(*at(13, 0)) {
			return *at(13, 0)
		}
		return t
	}}
	got := Forecast([]MemberStages{api, web}, []string{"dev", "staging", "prod"}, now)
	want := []struct {
		stage, member string
		at            time.Time
		reached       bool
	}{
		{"dev", "web 1.2.0", *at(9, 30), true},
		{"staging", "web 1.2.0", *at(12, 0), false},
		{"prod", "web 1.2.0", *at(13, 0), false},
	}
	if len(got) != len(want) {
		t.Fatalf("Forecast() = %+v, want %d stages", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Stage != w.stage || g.Member != w.member || !g.At.Time.Equal(w.at) || g.Reached != w.reached {
			t.Errorf("stage %d = %s %s at %s reached %t, want %s %s at %s reached %t", i, g.Stage, g.Member, g.At.UTC().Format(time.Kitchen), g.Reached,
				w.stage, w.member, w.at.Format(time.Kitchen), w.reached)
		}
	}

	// Without web's plan and freeze, api's soak after staging is the
	// critical path to prod: staging ends 10:20, prod starts an hour later.
	web.Stages[1].NotBefore, web.Opens = nil, nil
	got = Forecast([]MemberStages{api, web}, []string{"dev", "staging", "prod"}, now)
	if p := got[2]; p.Member != "api 1.0.0" || !p.At.Time.Equal(*at(11, 50)) {
		t.Errorf("prod = %s at %s, want api 1.0.0 at 11:50", p.Member, p.At.UTC().Format(time.Kitchen))
	}
	if s := got[1]; s.Member != "api 1.0.0" || !s.At.Time.Equal(*at(10, 20)) {
		t.Errorf("staging = %s at %s, want api 1.0.0 at 10:20 (its verification under way)", s.Member, s.At.UTC().Format(time.Kitchen))
	}
}

func TestForecastSkipsStagesNoMemberGoesThrough(t *testing.T) {
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	m := MemberStages{Name: "api", Version: "1.0.0", Stages: []StageEstimate{{Name: "dev"}}}
	got := Forecast([]MemberStages{m}, []string{"dev", "canary"}, now)
	if len(got) != 1 || got[0].Stage != "dev" || !got[0].At.Time.Equal(now) {
		t.Errorf("Forecast() = %+v, want dev now only", got)
	}
}
