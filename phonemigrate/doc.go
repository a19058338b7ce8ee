// Package phonemigrate moves an Auth0 tenant from its legacy phone setup
// (Passwordless SMS through Twilio or a custom SMS gateway; MFA SMS/voice
// through Twilio, Auth0 or a hook) onto the Unified Phone Experience: one
// tenant-level phone provider serving Passwordless and MFA.
//
// The Management API is reached through the small [Client] interface;
// package auth0api implements it over go-auth0 v3 and package
// phonemigratetest serves a fake tenant for tests and demos.
package phonemigrate
