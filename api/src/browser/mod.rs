//! What a browser frontend needs of `/api/v1`, and what keeps a browser from
//! being turned against its user (the contract's "Browsers" paragraph):
//! - [`cors`]: CORS for the origins in `MINDWELL_CORS_ORIGINS`, credentials
//!   allowed; other origins get no CORS headers;
//! - [`csrf`]: a state-changing request that authenticates by cookie must be
//!   JSON and, when it names an `Origin`, come from the API's own or a listed one;
//! - [`headers`]: `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`
//!   and, in production, HSTS.
//!
//! Each is a middleware that `crate::app` wires; [`Origin`] is what the
//! configuration and the checks compare.

pub mod cors;
pub mod csrf;
pub mod headers;
mod origin;

pub use origin::Origin;
