// The NHS.UK frontend styles interactive components only when the body says JavaScript runs.
// A file rather than an inline script, so the Content-Security-Policy can forbid inline code.
document.body.className += " js-enabled nhsuk-frontend-supported";
