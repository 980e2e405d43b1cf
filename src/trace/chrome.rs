//! The Chrome trace-event format, as Perfetto and `chrome://tracing` read it: one object
//! `{"displayTimeUnit": "ms", "traceEvents": [...]}`; the simulation and each node a process
//! (one track each) named by metadata events; a tracing span an async slice (`b`/`e`) on its
//! node's track, with a small integer id; an event an instant (`i`), global for commands,
//! phases and verdicts. Slices still open when the trace finishes are closed then, with the
//! argument `"unfinished": true`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::time::SimTime;

/// The process (track) of the simulation itself: commands, phases, verdicts, and whatever runs
/// outside any node.
pub(crate) const SIM_PID: u64 = 1;
/// Each process has one thread.
const TID: u64 = 1;
/// Async ids stay below 2^53, so that tools that read numbers as doubles keep them distinct.
pub(crate) const MAX_ID: u64 = 1 << 53;

/// The process of node `index`.
pub(crate) fn node_pid(index: usize) -> u64 {
    index as u64 + 2
}

/// A slice begun and not yet ended.
struct Open {
    id: u64,
    name: &'static str,
    cat: &'static str,
    pid: u64,
}

/// What the Chrome writer remembers between events.
#[derive(Default)]
pub(crate) struct Chrome {
    /// Items written so far (the first one has no separator).
    items: u64,
    /// The async id of the next slice; ids start at 1.
    next_id: u64,
    /// Open slices by tracing span id.
    open: BTreeMap<u64, Open>,
}

/// Chrome timestamps are microseconds; the nanoseconds stay as three decimals.
fn micros(t: SimTime) -> Value {
    let ns = t.as_nanos();
    serde_json::from_str(&format!("{}.{:03}", ns / 1000, ns % 1000)).unwrap_or(Value::Null)
}

impl Chrome {
    /// The opening of the file and the metadata naming every process and thread.
    pub(crate) fn header(&mut self, names: &[String]) -> String {
        let mut text = String::from("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
        let mut meta = |pid: u64, name: &str, sort: u64| {
            for item in [
                json!({"ph": "M", "name": "process_name", "pid": pid, "tid": TID, "args": {"name": name}}),
                json!({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": TID, "args": {"sort_index": sort}}),
                json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": TID, "args": {"name": name}}),
            ] {
                text.push_str(&self.item(&item));
            }
        };
        meta(SIM_PID, "sim", 0);
        for (i, name) in names.iter().enumerate() {
            meta(node_pid(i), name, i as u64 + 1);
        }
        text
    }

    /// One item, with the separator it needs.
    fn item(&mut self, item: &Value) -> String {
        let sep = if self.items == 0 { "" } else { ",\n" };
        self.items += 1;
        format!("{sep}{item}")
    }

    /// An instant event; `global` ones span every track.
    pub(crate) fn instant(
        &mut self,
        name: String,
        cat: &str,
        global: bool,
        now: SimTime,
        pid: u64,
        args: Value,
    ) -> String {
        let item = json!({
            "name": name,
            "cat": cat,
            "ph": "i",
            "s": if global { "g" } else { "t" },
            "ts": micros(now),
            "pid": pid,
            "tid": TID,
            "args": args,
        });
        self.item(&item)
    }

    /// Begins the slice of tracing span `span`; `None` once 2^53 slices have begun (a run
    /// would need months of wall time to get there), so that no id is ever ambiguous.
    pub(crate) fn begin(
        &mut self,
        span: u64,
        name: &'static str,
        cat: &'static str,
        now: SimTime,
        pid: u64,
        args: Value,
    ) -> Option<String> {
        if self.next_id + 1 >= MAX_ID {
            return None;
        }
        self.next_id += 1;
        let id = self.next_id;
        self.open.insert(span, Open { id, name, cat, pid });
        let item = json!({"name": name, "cat": cat, "ph": "b", "id": id, "ts": micros(now), "pid": pid, "tid": TID, "args": args});
        Some(self.item(&item))
    }

    /// Ends the slice of tracing span `span`, on the track it began on.
    pub(crate) fn end(&mut self, span: u64, now: SimTime) -> Option<String> {
        let open = self.open.remove(&span)?;
        Some(self.end_item(&open, now, false))
    }

    fn end_item(&mut self, open: &Open, now: SimTime, unfinished: bool) -> String {
        let mut item = json!({
            "name": open.name,
            "cat": open.cat,
            "ph": "e",
            "id": open.id,
            "ts": micros(now),
            "pid": open.pid,
            "tid": TID,
        });
        if unfinished {
            item["args"] = json!({"unfinished": true});
        }
        self.item(&item)
    }

    /// Ends every open slice at `now`, marked unfinished, in the order they began, and closes
    /// the object.
    pub(crate) fn footer(&mut self, now: SimTime) -> String {
        let mut open: Vec<Open> = std::mem::take(&mut self.open).into_values().collect();
        open.sort_by_key(|o| o.id);
        let mut text: String = open.iter().map(|o| self.end_item(o, now, true)).collect();
        text.push_str("\n]}\n");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_slices_close_at_the_end_marked_and_the_object_is_valid() {
        let mut c = Chrome::default();
        let mut text = c.header(&["a".to_string()]);
        let t = |ns| SimTime::from_nanos(ns);
        text += &c.begin(900, "req", "x", t(1_500), node_pid(0), json!({})).unwrap();
        text += &c.begin(901, "req", "x", t(2_000), node_pid(0), json!({})).unwrap();
        text += &c.end(900, t(3_000)).unwrap();
        assert!(c.end(900, t(3_000)).is_none(), "a slice ends once");
        text += &c.footer(t(9_000));
        let v: Value = serde_json::from_str(&text).unwrap();
        let events = v["traceEvents"].as_array().unwrap();
        let ends: Vec<&Value> = events.iter().filter(|e| e["ph"] == "e").collect();
        assert_eq!(ends.len(), 2);
        assert_eq!((ends[0]["id"].as_u64(), ends[0].get("args")), (Some(1), None));
        assert_eq!((ends[1]["id"].as_u64(), &ends[1]["args"]["unfinished"]), (Some(2), &Value::Bool(true)));
        assert_eq!(ends[1]["ts"].as_f64(), Some(9.0));
        assert_eq!(v["displayTimeUnit"], "ms");
    }

    #[test]
    fn ids_stop_below_two_to_the_53() {
        let mut c = Chrome { next_id: MAX_ID - 2, ..Chrome::default() };
        let last = c.begin(1, "s", "x", SimTime::ZERO, SIM_PID, json!({})).unwrap();
        assert!(last.contains(&format!("\"id\":{}", MAX_ID - 1)), "{last}");
        assert!(c.begin(2, "s", "x", SimTime::ZERO, SIM_PID, json!({})).is_none());
    }
}
