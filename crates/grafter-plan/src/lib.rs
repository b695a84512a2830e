//! grafter.toml → a validated, explained [`Plan`]. Pure: no I/O.
//!
//! The walk is: [`Config::parse`] reads the text strictly (unknown keys are errors with a
//! line and the nearest valid key); [`Plan::build`] checks names, keys and expressions,
//! resolves defaults and orders the mappings with a reason for each position; once the engine
//! has asked the source for a read's columns, [`bind()`] compiles the mapping against them.
//! [`explain`] turns a plan into what `grafter plan` shows, and [`init`] turns an introspected
//! catalog into a starter grafter.toml. Transforms are a small expression language
//! ([`transform`]).
//!
//! This crate reads no files and opens no connections: callers hand in text and column
//! lists, which keeps every rule here testable in isolation.

mod bind;
mod casts;
mod checks;
mod config;
pub mod diagram;
pub mod explain;
pub mod init;
mod locate;
mod plan;
mod remap;
pub mod transform;

pub use bind::{BoundMapping, BoundProperty, PropertyOrigin, bind};
pub use casts::{CastMatch, CastRule, Decision, normalise_type};
pub use checks::{Check, CheckConfig, Expect, Expectation};
pub use config::{
    CastConfig, ChangeLogConfig, Config, ConfigError, Endpoint, NodeMapping, NullReference, OneOrMany,
    RelationshipMapping,
};
pub use locate::Location;
pub use plan::{
    DEFAULT_BATCH_SIZE, EndpointSpec, Mapping, MappingKind, Plan, PlanError, PropertySpec, ReadSpec, RunSettings,
    SyncSettings, Tracking,
};
pub use remap::{MissingPolicy, RemapConfig, RemapFrom, RemapTable, RemapUse};

pub(crate) use grafter_model::suggest;
