// Package activities holds every Temporal activity of the automation runtime.
// Activities are methods on Activities, which holds their dependencies; the
// worker registers one instance with RegisterActivity.
package activities
