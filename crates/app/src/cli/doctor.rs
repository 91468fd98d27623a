//! `stockdata doctor` (being built).

use super::{Ctx, Exit, usage};

pub(crate) async fn run(_ctx: Ctx) -> Exit {
    usage("`stockdata doctor` is not built yet")
}
