//! [`Config::startup_notices`]: what the daemon says at start about how it will run a
//! configuration, beyond the warnings about the file's own lines. The daemon logs them and
//! `check` prints them; `replay` gets the ones about the record processor's command.
//!
//! Pure: the file system is asked through the `exists` function the caller passes.

use std::path::Path;

use super::table::{self, Bridge};
use super::{Config, ConfigWarning, Purpose};

/// File extensions of the programs record processors are usually written as.
const SCRIPT_EXTENSIONS: &[&str] = &[
    "py", "js", "mjs", "cjs", "ts", "rb", "pl", "php", "sh", "dll", "jar",
];

impl Config {
    /// Notices for a run of this configuration from the working directory `cwd`:
    ///
    /// * with [`Purpose::Consume`], the table's start-up notices (enhanced fan-out resolved but
    ///   polled, no `workerId`, …);
    /// * always, each argument of `executableName` that names a script (see [`script_arguments`])
    ///   that `exists` says is not there, with the directory it was looked for in: record
    ///   processors are started in the daemon's working directory.
    pub fn startup_notices(
        &self,
        purpose: Purpose,
        cwd: &Path,
        exists: &dyn Fn(&Path) -> bool,
    ) -> Vec<ConfigWarning> {
        let mut notices = Vec::new();
        if purpose == Purpose::Consume {
            for row in table::rows() {
                if let Bridge::Notice(notice) = row.bridge {
                    if let Some(note) = notice(self) {
                        notices.push(ConfigWarning {
                            line: None,
                            key: Some(row.name.to_owned()),
                            message: note.text.to_owned(),
                        });
                    }
                }
            }
        }
        let argv = self.executable_argv();
        for arg in script_arguments(argv.get(1..).unwrap_or_default()) {
            let path = cwd.join(arg);
            if exists(&path) {
                continue;
            }
            let message = if Path::new(arg).is_absolute() {
                format!("\"{arg}\" does not exist")
            } else {
                format!(
                    "\"{arg}\" does not exist in {} (the working directory, which the record \
                     processor inherits: relative paths are resolved from it)",
                    cwd.display()
                )
            };
            notices.push(ConfigWarning {
                line: None,
                key: Some("executableName".to_owned()),
                message,
            });
        }
        notices
    }
}

/// The arguments (after the program) that look like the path of a script the program will open:
/// not an option (`-u`, `--flag=x`), no wildcard, and either a path with a `/` or a name with a
/// script extension (`app.py`).
pub fn script_arguments(args: &[String]) -> Vec<&str> {
    args.iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-') && !a.contains(['*', '?']))
        .filter(|a| {
            a.contains('/')
                || Path::new(a)
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| SCRIPT_EXTENSIONS.contains(&e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_arguments_are_paths_or_script_names_that_are_not_options() {
        let cases: &[(&str, &[&str])] = &[
            ("-u app.py --flag 1", &["app.py"]),
            (
                "samples/python/sampel_app.py",
                &["samples/python/sampel_app.py"],
            ),
            ("sample_kcl_app.js", &["sample_kcl_app.js"]),
            ("KinesisClientLibrary.dll", &["KinesisClientLibrary.dll"]),
            ("-m mypackage.consumer", &[]),
            ("--config=conf/app.yaml", &[]),
            ("-cp lib/* Main", &[]),
            ("./run", &["./run"]),
            ("/opt/app/consumer.rb x", &["/opt/app/consumer.rb"]),
            ("", &[]),
        ];
        for (args, expected) in cases {
            let args: Vec<String> = args
                .split(' ')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            assert_eq!(script_arguments(&args), *expected, "{args:?}");
        }
    }
}
