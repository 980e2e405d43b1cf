//! The pages' frame (style and the one small script, inline: nothing is loaded from elsewhere)
//! and the result of a run as a page shows it: the report page's own body
//! (`study::page::body`, the body of `report.html`), with its verdict marked for the script
//! and its experiments made links, and the files `--out` writes as downloads.

use std::sync::OnceLock;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::experiments::Experiment;
use super::query::{Refused, encode};
use super::registry::{Entry, Outcome};
use crate::report::html::{STYLE as REPORT_STYLE, esc};

/// A whole page: `title`, then `main`.
pub fn page(title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · faultline" }
                link rel="icon" href="data:,";
                style { (PreEscaped(report_style())) (PreEscaped(STYLE)) }
            }
            body {
                header { a href="/" { "faultline" } " · " (title) }
                main { (main) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// The report page's style, every rule scoped to `#report` (its `body` rule becomes
/// `#report`'s), so that it styles the report and leaves the server's page alone.
fn report_style() -> &'static str {
    static SCOPED: OnceLock<String> = OnceLock::new();
    SCOPED.get_or_init(|| scope(REPORT_STYLE, "#report"))
}

/// `css` (plain rules, no at-rules) with every selector under `root`.
pub fn scope(css: &str, root: &str) -> String {
    let mut out = String::new();
    for rule in css.split('}') {
        let Some((selectors, declarations)) = rule.split_once('{') else { continue };
        let scoped: Vec<String> = selectors
            .split(',')
            .map(str::trim)
            .map(|s| if s == "body" { root.to_string() } else { format!("{root} {s}") })
            .collect();
        out.push_str(&format!("{}{{{}}}\n", scoped.join(","), declarations.trim()));
    }
    out
}

/// The short word of a verdict (`metastable` of `metastable: goodput ...`), for styles and
/// scripts.
pub fn verdict_word(verdict: &str) -> &str {
    verdict.split(':').next().unwrap_or(verdict).trim()
}

/// What a run shows: the report page's body, as `report.html` has it, with two marks for the
/// server's page: its verdict paragraph is `#verdict` (with the verdict's word, which the
/// script and the tests read), and each experiment whose command converts to a page gets a
/// link to it beside its title.
pub fn body(outcome: &Outcome, experiments: &[Experiment]) -> Markup {
    let word = esc(verdict_word(&outcome.verdict));
    let mut body = outcome.body.clone();
    let marked = format!("<p class=\"verdict\" id=\"verdict\" data-verdict=\"{word}\">");
    if body.contains("<p class=\"verdict\">") {
        body = body.replacen("<p class=\"verdict\">", &marked, 1);
    } else {
        body.insert_str(0, &format!("{marked}{}</p>\n", esc(&outcome.verdict)));
    }
    for x in experiments {
        let Some(url) = &x.url else { continue };
        let summary = format!("<summary>{}</summary>", esc(&x.title));
        let linked = format!(
            "<summary>{} <a class=\"run\" href=\"{}\" title=\"open this experiment on this page\">run it here</a></summary>",
            esc(&x.title),
            esc(url)
        );
        body = body.replacen(&summary, &linked, 1);
    }
    html! { div #report { (PreEscaped(body)) } }
}

/// The files a run offers, in order: `report.html` first, then the rest of what `--out`
/// writes.
pub fn downloads(outcome: &Outcome) -> Vec<&str> {
    let names = outcome.files.iter().map(|(n, _)| n.as_str());
    let (report, rest): (Vec<&str>, Vec<&str>) = names.partition(|n| *n == "report.html");
    report.into_iter().chain(rest).collect()
}

/// The result of a request: the run's report (verdict, explanation, charts, tables,
/// experiments) or the error; the equivalent command line; the downloads. This block is what
/// the page's script swaps in place.
pub fn result(
    entry: &Entry,
    experiments: &[Experiment],
    shown: &str,
    query: &str,
    run: Result<&Outcome, &Refused>,
) -> Markup {
    let q = if query.is_empty() { String::new() } else { format!("?{query}") };
    html! {
        div #result {
            @match run {
                Ok(outcome) => {
                    div #errors data-errors="[]" {}
                    p.cmd { "Command line: " code #cmdline { (shown) } }
                    p.downloads { "Download: "
                        @for name in downloads(outcome) {
                            a href={ "/" (entry.name) "/file/" (name) (q) } download=(name) { (name) } " "
                        }
                    }
                    (body(outcome, experiments))
                }
                Err(e) => {
                    div #errors data-errors=(errors_json(e)) {}
                    p #verdict .verdict.error data-verdict="error" { "error: " (e.message) }
                    p.cmd { "Command line: " code #cmdline { (shown) } }
                }
            }
            p.links {
                a href={ "/" (entry.name) "/live" (q) } { "Run it live" } " · "
                a href={ "/" (entry.name) "/sweep" (q) } { "Sweep a parameter" }
            }
        }
    }
}

fn errors_json(e: &Refused) -> String {
    serde_json::json!([{ "field": e.field, "message": e.message }]).to_string()
}

/// A link to `path` with `pairs` as its query.
pub fn link(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() { path.to_string() } else { format!("{path}?{}", encode(pairs)) }
}

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:.6em 1.2em;background:#223;color:#eee}header a{color:#fff;font-weight:bold;text-decoration:none}
main{padding:1em 1.2em;max-width:1500px}
.cols{display:flex;gap:1.5em;align-items:flex-start}
#params{flex:0 0 360px;max-height:88vh;overflow:auto;background:#fff;border:1px solid #ddd;padding:.6em;border-radius:6px}
#result{flex:1;min-width:0}
.field{margin:.35em 0 .7em}.field label{display:block;font-weight:600;font-family:monospace}
.field input[type=text],.field select{width:95%;font:inherit;padding:2px 4px}
.field .slider{width:95%;display:block}
.help{display:block;color:#666;font-size:12px}.err{display:block;color:#b00;font-size:13px}
.invalid input,.invalid select{border:2px solid #b00}
.verdict.error{font-size:18px;font-weight:600;padding:.4em .6em;border-radius:4px;background:#fdd;color:#900}
#report{margin:0;padding:0 0 2em;max-width:1100px}
#report .verdict[data-verdict=metastable]{border-left-color:#c0392b;background:#fbeeee}
#report .verdict[data-verdict=recovered],#report .verdict[data-verdict=healthy]{border-left-color:#2e8b57;background:#eef8f0}
#report summary a.run{font-weight:normal;margin-left:.6em}
.downloads a{margin-right:.3em}
code{background:#eee;padding:1px 4px;border-radius:3px}.warn{color:#a60}
.studies li{margin:.8em 0}.presets{font-size:13px;color:#555}
.live button{margin:2px}#replies{background:#fff;border:1px solid #ddd;height:9em;overflow:auto;font-size:12px}
p.status{margin:0 0 .2em;line-height:1.2}#busy{color:#888;font-size:12px;visibility:hidden}#busy.on{visibility:visible}
progress{width:300px}
pre{overflow:auto;max-width:100%}#table{background:#fff;border:1px solid #ddd;padding:.6em}#diagram svg{max-width:100%;height:auto}
"#;

/// The page's script: moves a slider's box, re-runs on change (debounced) and swaps the result
/// in place, keeping the URL; live runs and sweeps read their server-sent events.
const SCRIPT: &str = r#"
(function(){
const form=document.getElementById('params');
function query(){const q=new URLSearchParams();if(!form)return q;
 for(const el of form.elements){if(!el.name)continue;
  let v=el.type==='checkbox'?(el.checked?'true':'false'):el.value.trim();
  const d=el.dataset.default||'';if(el.type==='checkbox'&&v==='false'&&d!=='true')continue;
  if(v!==''&&v!==d)q.append(el.name,v);}
 return q;}
window.faultlineQuery=query;
function showErrors(root){const e=root.querySelector('#errors');const list=e?JSON.parse(e.dataset.errors||'[]'):[];
 for(const s of form.querySelectorAll('.err'))s.textContent='';
 for(const f of form.querySelectorAll('.field.invalid'))f.classList.remove('invalid');
 for(const x of list){if(!x.field)continue;const s=form.querySelector('.err[data-for="'+x.field+'"]');
  if(s){s.textContent=x.message;s.parentElement.classList.add('invalid');}}}
let timer=null,seq=0,t0=0;
async function update(){const my=++seq;const q=query().toString();const busy=document.getElementById('busy');
 if(busy)busy.classList.add('on');
 try{const r=await fetch(location.pathname+'/result'+(q?'?'+q:''));const html=await r.text();
  if(my!==seq)return;const old=document.getElementById('result');const tmp=document.createElement('div');tmp.innerHTML=html;
  const fresh=tmp.querySelector('#result');if(old&&fresh){old.replaceWith(fresh);showErrors(fresh);}
  const url=location.pathname+(q?'?'+q:'');if(url!==location.pathname+location.search)history.pushState(null,'',url);
  document.body.dataset.updateMs=String(Math.round(performance.now()-t0));document.body.dataset.updates=String(my);
 }catch(e){console.warn('update failed',e);}finally{if(busy&&my===seq)busy.classList.remove('on');}}
if(form&&form.dataset.mode==='study'){
 form.addEventListener('input',ev=>{const t=ev.target;
  if(t.name==='preset'){location.search=t.value?'?preset='+encodeURIComponent(t.value):'';return;}
  if(t.classList.contains('slider')){const box=document.getElementById(t.dataset.for);if(box)box.value=t.value;}
  else{const s=form.querySelector('.slider[data-for="'+t.id+'"]');const n=parseFloat(t.value);if(s&&!isNaN(n))s.value=n;}
  t0=performance.now();clearTimeout(timer);timer=setTimeout(update,200);});
 form.addEventListener('submit',ev=>{ev.preventDefault();t0=performance.now();update();});
 window.addEventListener('popstate',()=>location.reload());}
const live=document.getElementById('live');
if(live){let id=null;const replies=document.getElementById('replies');
 function say(t){replies.textContent+=t+'\n';replies.scrollTop=replies.scrollHeight;}
 const es=new EventSource(live.dataset.events);
 let parts={};es.addEventListener('session',e=>{const s=JSON.parse(e.data);id=s.id;parts=s.parts;document.getElementById('script').href='/live/'+id+'/faults.txt';
  const sel=document.getElementById('target');for(const n of s.nodes){const o=document.createElement('option');o.textContent=n;sel.appendChild(o);}
  live.dataset.session=id;live.dataset.state='running';});
 es.addEventListener('window',e=>{const w=JSON.parse(e.data);document.getElementById('livechart').innerHTML=w.svg;
  document.getElementById('clock').textContent=w.status;live.dataset.windows=String(w.n);live.dataset.last=JSON.stringify(w.last);});
 es.addEventListener('end',e=>{document.getElementById('final').innerHTML=e.data;live.dataset.state='ended';es.close();});
 es.addEventListener('failed',e=>{say('error: '+e.data);live.dataset.state='failed';es.close();});
 async function send(line){if(id===null){say('error: the run has not started yet');return;}
  const r=await fetch('/live/'+id+'/command',{method:'POST',headers:{'content-type':'application/x-www-form-urlencoded'},body:new URLSearchParams({line})});
  say('> '+line);say(await r.text());}
 for(const b of live.querySelectorAll('button[data-cmd]'))b.addEventListener('click',()=>{
  const t=document.getElementById('target').value;const v=document.getElementById('amount').value;
  const line=b.dataset.cmd.replace('{node}',t).replace('{rest}',parts[t]||'*').replace('{value}',v);send(line);});
 document.getElementById('cmdform').addEventListener('submit',ev=>{ev.preventDefault();const c=document.getElementById('cmd');send(c.value);});}
const sweep=document.getElementById('sweep');
if(sweep&&sweep.dataset.events){const es=new EventSource(sweep.dataset.events);const bar=document.getElementById('progress');
 es.addEventListener('progress',e=>{const p=JSON.parse(e.data);bar.max=p.of;bar.value=p.done;document.getElementById('count').textContent=p.done+' of '+p.of;});
 es.addEventListener('done',e=>{const r=JSON.parse(e.data);document.getElementById('table').textContent=r.table;document.getElementById('diagram').innerHTML=r.svg||'';sweep.dataset.state='done';es.close();});
 es.addEventListener('failed',e=>{document.getElementById('table').textContent='error: '+e.data;sweep.dataset.state='failed';es.close();});}
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_style_is_scoped_to_the_report() {
        let css = scope("body { margin: 0; }\nh1, h2 { font-size: 2em; }\n", "#report");
        assert_eq!(css, "#report{margin: 0;}\n#report h1,#report h2{font-size: 2em;}\n");
        let all = report_style();
        assert!(all.lines().all(|l| l.starts_with("#report")), "{all}");
        assert_eq!(all.lines().count(), REPORT_STYLE.matches('}').count());
    }
}
