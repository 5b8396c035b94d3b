// Package gtm connects a merchant's Google Tag Manager container to
// PulseHub: a ready custom tag template (pulsehub-collect.tpl, in GTM's
// template file format) that sends dataLayer events to POST /collect through
// a small collector script, and a check through the Tag Manager API v2 that
// the tag is published, i.e. that the container's live version holds it.
// docs/gtm.md walks a merchant through the setup.
package gtm
