//! The `send_password_reset` job: issues a reset code for the account and
//! mails it. Reset mails go whatever the notification opt-in says: the user
//! asked for this one. The code appears in no log and no payload.

use mindwell_shared::{
    domain::password_reset::{self, TTL},
    entities::users,
    jobs::SendPasswordReset,
    now,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::Perform;
use crate::{
    context::{Context, JobError, Outcome},
    notify,
};

impl Perform for SendPasswordReset {
    async fn perform(&self, ctx: &Context) -> Result<Outcome, JobError> {
        run(self, ctx).await
    }
}

#[tracing::instrument(name = "send_password_reset", skip_all, fields(request_id = %job.request_id))]
async fn run(job: &SendPasswordReset, ctx: &Context) -> Result<Outcome, JobError> {
    let Some(sender) = ctx.email.as_ref() else {
        tracing::warn!("password reset asked but no email channel is configured (MINDWELL_SMTP_URL)");
        return Ok(Outcome::Skipped);
    };
    let user =
        users::Entity::find().filter(users::Column::Email.eq(job.email.trim().to_lowercase())).one(&ctx.db).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Ok(Outcome::Skipped);
    };
    let code = password_reset::issue(&ctx.db, job.request_id, user.id, now()).await?;
    let body = format!(
        "Someone (hopefully you) asked to reset your MindWell password.\n\n\
         Your code: {code}\n\n\
         It works once, for {} minutes. If you did not ask, ignore this email: \
         your password stays as it is.\n",
        TTL.num_minutes()
    );
    notify::send_counted(sender.as_ref(), &user.email, "Your MindWell password reset code", &body)
        .await
        .map_err(JobError::Email)?;
    Ok(Outcome::Completed)
}
