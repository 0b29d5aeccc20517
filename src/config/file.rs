//! Which properties file a command line names, and where it is: Java's `-p`/positional
//! precedence and its class-path lookup.
//!
//! Pure: the environment and the file system are passed in by the caller.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

/// The file the command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub path: PathBuf,
    /// `-p` was given with a positional file too, and won (Java warns about it).
    pub overrides_positional: bool,
}

/// A command line that does not name exactly one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoFile {
    Missing,
    /// Several positional files, as written.
    Several(Vec<String>),
}

impl fmt::Display for NoFile {
    /// Java's messages, and a hint for an option written before a subcommand.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoFile::Missing => f.write_str(
                "Properties file missing, please provide a properties file (kcl-bridge --help)",
            ),
            NoFile::Several(names) => {
                write!(
                    f,
                    "Expected a single argument, but found multiple arguments.  Arguments: {}",
                    names.join(", ")
                )?;
                // `kcl-bridge --strict check FILE`: an option before a subcommand makes the
                // subcommand a file name.
                match names.first().map(String::as_str) {
                    Some(sub @ ("check" | "replay")) => write!(
                        f,
                        " (options go after the subcommand: kcl-bridge {sub} --strict ...)"
                    ),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// The daemon's `[-p FILE] [FILE]`: `-p` wins over the positional file, as in Java; more than one
/// positional file is an error.
pub fn named(positional: &[PathBuf], option: Option<&Path>) -> Result<Named, NoFile> {
    if positional.len() > 1 {
        let names = positional.iter().map(|f| f.display().to_string()).collect();
        return Err(NoFile::Several(names));
    }
    match (option, positional.first()) {
        (Some(p), positional) => Ok(Named {
            path: p.to_owned(),
            overrides_positional: positional.is_some(),
        }),
        (None, Some(p)) => Ok(Named {
            path: p.clone(),
            overrides_positional: false,
        }),
        (None, None) => Err(NoFile::Missing),
    }
}

/// Where a named properties file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    /// Found in a directory of the class path, not where the name points.
    pub on_class_path: bool,
}

/// `path` if it `exists` (relative to the current directory) or is absolute; else, for a
/// relative name, the first directory of `class_path` (the `CLASSPATH` variable, `:`-separated)
/// holding it, as Java, which looks the name up as a class-path resource, would find it there.
/// Entries that are archives (`.jar`, `.zip`) or wildcards are not searched. Not found anywhere:
/// `path` as given, for the read to fail on.
pub fn locate(path: &Path, class_path: Option<&OsStr>, exists: &dyn Fn(&Path) -> bool) -> Located {
    let as_given = Located {
        path: path.to_owned(),
        on_class_path: false,
    };
    if path.is_absolute() || exists(path) {
        return as_given;
    }
    let Some(class_path) = class_path else {
        return as_given;
    };
    std::env::split_paths(class_path)
        .filter(|dir| {
            let s = dir.to_string_lossy();
            !(s.is_empty() || s.ends_with('*') || s.ends_with(".jar") || s.ends_with(".zip"))
        })
        .map(|dir| dir.join(path))
        .find(|candidate| exists(candidate))
        .map_or(as_given, |found| Located {
            path: found,
            on_class_path: true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_wins_over_the_positional_file() {
        let p = |s: &str| PathBuf::from(s);
        /// (positional files, `-p`, the file and whether it overrides the positional one)
        type Case<'a> = (
            &'a [&'a str],
            Option<&'a str>,
            Result<(&'a str, bool), NoFile>,
        );
        let cases: &[Case] = &[
            (&["a.properties"], None, Ok(("a.properties", false))),
            (&[], Some("b.properties"), Ok(("b.properties", false))),
            (
                &["a.properties"],
                Some("b.properties"),
                Ok(("b.properties", true)),
            ),
            (&[], None, Err(NoFile::Missing)),
            (
                &["a", "b"],
                Some("c"),
                Err(NoFile::Several(vec!["a".into(), "b".into()])),
            ),
        ];
        for (positional, option, expected) in cases {
            let positional: Vec<PathBuf> = positional.iter().map(|s| p(s)).collect();
            let got = named(&positional, option.map(Path::new));
            let expected = expected.clone().map(|(path, overrides)| Named {
                path: p(path),
                overrides_positional: overrides,
            });
            assert_eq!(got, expected, "{positional:?} {option:?}");
        }
    }

    #[test]
    fn messages_are_javas_with_a_hint_for_a_misplaced_option() {
        assert_eq!(
            NoFile::Missing.to_string(),
            "Properties file missing, please provide a properties file (kcl-bridge --help)"
        );
        assert_eq!(
            NoFile::Several(vec!["a.properties".into(), "b.properties".into()]).to_string(),
            "Expected a single argument, but found multiple arguments.  Arguments: a.properties, \
             b.properties"
        );
        assert!(
            NoFile::Several(vec!["check".into(), "app.properties".into()])
                .to_string()
                .ends_with("(options go after the subcommand: kcl-bridge check --strict ...)")
        );
    }

    #[test]
    fn class_path_directories_are_searched_in_order_and_archives_skipped() {
        let files = [
            "/jars/app.properties",
            "/b/app.properties",
            "/c/app.properties",
            "here.properties",
            "/c/here.properties",
        ];
        let exists = |p: &Path| files.iter().any(|f| Path::new(f) == p);
        // (name, CLASSPATH, expected path, found on the class path)
        let cases = [
            (
                "app.properties",
                Some("/a:/b/:/c"),
                "/b/app.properties",
                true,
            ),
            (
                "app.properties",
                Some("/jars/*:/jars.jar:/x.zip::/c"),
                "/c/app.properties",
                true,
            ),
            ("app.properties", Some("/a"), "app.properties", false),
            ("app.properties", Some(""), "app.properties", false),
            ("app.properties", None, "app.properties", false),
            // Where the name points comes first.
            ("here.properties", Some("/c"), "here.properties", false),
            // An absolute name is never looked up.
            (
                "/nowhere/app.properties",
                Some("/b"),
                "/nowhere/app.properties",
                false,
            ),
        ];
        for (name, class_path, path, on_class_path) in cases {
            assert_eq!(
                locate(Path::new(name), class_path.map(OsStr::new), &exists),
                Located {
                    path: PathBuf::from(path),
                    on_class_path
                },
                "{name} {class_path:?}"
            );
        }
    }
}
