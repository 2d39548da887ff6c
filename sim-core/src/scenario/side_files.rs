//! Files a scenario names next to itself (`rate_file`), read through the caller.
//!
//! sim-core reads no files (DESIGN.md): the program that holds the scenario decides where a
//! relative path points and how much of a file it will read, and hands the text over through
//! [`SideFiles`].

/// Reads the files a scenario names (e.g. `rate_file = "traffic.csv"`).
pub trait SideFiles {
    /// The text of `path` as the scenario wrote it, or one line saying why it cannot be read
    /// (the scenario's location is added by the parser).
    fn read(&self, path: &str) -> Result<String, String>;
}

/// Refuses every side file: what [`parse_scenario`](crate::parse_scenario) uses, since text
/// alone has no directory to resolve a path against.
pub struct NoSideFiles;

impl SideFiles for NoSideFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        Err(format!(
            "cannot read \"{path}\": this scenario was given as text with no directory, so \
             it may not name other files (use parse_scenario_with and a SideFiles reader)"
        ))
    }
}
