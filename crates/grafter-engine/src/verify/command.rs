//! `grafter verify`, the command: opens the plan's source and target (read-only), runs the
//! verifier ([`super::verify_with`], which `grafter run` and `grafter sync` end with too),
//! and warns when the target was locked while it was read.

use std::sync::Arc;

use grafter_plan::Plan;
use grafter_target::Access;

use super::{VerifyOptions, VerifyReport, verify_with};
use crate::session::{closing, open_source, open_target};
use crate::{EngineError, Observer};

/// `grafter verify`: opens the plan's source and target and verifies.
pub async fn verify(
    plan: &Plan,
    options: &VerifyOptions,
    observer: Arc<dyn Observer>,
) -> Result<VerifyReport, EngineError> {
    crate::session::select(plan, &options.only)?;
    let source = open_source(plan).await?;
    let target = open_target(plan, Access::Read).await?;
    closing(&target, async {
        let mut report = verify_with(plan, options, &source, &target, &observer).await?;
        if let Some(holder) = target.ledger().lock_holder().await?
            && !holder.is_expired(chrono::Utc::now())
        {
            report.warnings.push(format!("the target is locked ({holder}): it may have changed while it was read"));
        }
        Ok(report)
    })
    .await
}
