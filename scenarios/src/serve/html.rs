//! The pages' frame (style and the one small script, inline: nothing is loaded from elsewhere)
//! and the result of a run as a page shows it. [`body`] is the one place that turns a run into
//! what a person reads; it is to become the report page's body when that lands.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::query::{Refused, encode};
use super::registry::{Entry, Outcome};

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
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { a href="/" { "faultline" } " · " (title) }
                main { (main) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// What a run shows: its verdict, charts and report. The report page's body replaces this
/// when it lands (one call, here).
pub fn body(_entry: &Entry, outcome: &Outcome) -> Markup {
    html! {
        @for (name, svg) in outcome.files.iter().filter(|(n, _)| n.ends_with(".svg")) {
            figure.chart data-file=(name) { (PreEscaped(String::from_utf8_lossy(svg))) }
        }
        pre.report { (outcome.text) }
    }
}

/// The files a run offers, in order: what `--out` writes. `report.html` joins them when the
/// study writes it (the report page), with no change here.
pub fn downloads(outcome: &Outcome) -> Vec<&str> {
    let mut names = vec!["summary.json"];
    names.extend(outcome.files.iter().map(|(n, _)| *n));
    names
}

/// The result of a request: the run's verdict and body, or the error; the equivalent command
/// line; the downloads. This block is what the page's script swaps in place.
pub fn result(entry: &Entry, shown: &str, query: &str, run: Result<&Outcome, &Refused>) -> Markup {
    let q = if query.is_empty() { String::new() } else { format!("?{query}") };
    html! {
        div #result {
            @match run {
                Ok(outcome) => {
                    div #errors data-errors="[]" {}
                    @if let Some(v) = outcome.verdict() {
                        p #verdict .verdict data-verdict=(v.split(':').next().unwrap_or(v)) { (v) }
                    }
                    @if let Some(why) = &outcome.incomplete { p.warn { "Incomplete: " (why) } }
                    (body(entry, outcome))
                    p.downloads { "Download: "
                        @for name in downloads(outcome) {
                            a href={ "/" (entry.name) "/file/" (name) (q) } download=(name) { (name) } " "
                        }
                    }
                }
                Err(e) => {
                    div #errors data-errors=(errors_json(e)) {}
                    p #verdict .verdict.error data-verdict="error" { "error: " (e.message) }
                }
            }
            p.cmd { "Command line: " code #cmdline { (shown) } }
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
.verdict{font-size:18px;font-weight:600;padding:.4em .6em;border-radius:4px;background:#eef}
.verdict[data-verdict=metastable]{background:#fdd}.verdict[data-verdict=recovered],.verdict[data-verdict=healthy]{background:#dfd}
.verdict.error{background:#fdd;color:#900}
.chart svg{max-width:100%;height:auto;background:#fff;border:1px solid #ddd}
pre.report{background:#fff;border:1px solid #ddd;padding:.6em;overflow:auto;font-size:12.5px}
code{background:#eee;padding:1px 4px;border-radius:3px}.warn{color:#a60}
.studies li{margin:.8em 0}.presets{font-size:13px;color:#555}
.live button{margin:2px}#replies{background:#fff;border:1px solid #ddd;height:9em;overflow:auto;font-size:12px}
#busy{color:#888;font-size:12px;visibility:hidden}#busy.on{visibility:visible}
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
