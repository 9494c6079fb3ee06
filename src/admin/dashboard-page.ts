/**
 * The dashboard (GET /): one self-contained HTML page with inline CSS, JS and SVG charts; it fetches
 * nothing but /api/dashboard from the dispatcher that served it, every REFRESH_MS. It shows the task
 * counts, throughput and latency over the last five minutes, the calculators table (filterable and
 * scrolling under a sticky header, so 200 rows stay usable), the overlay as a tree (each node under its
 * first parent, with its running tasks of its slots and its queue), recent failures with their
 * reasons, and how old its data is.
 */

/** The page polls this often (ms); SPEC 8 asks for at least every 2 s. */
export const REFRESH_MS = 1_000;

const STYLE = `
body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{display:flex;gap:16px;align-items:baseline;padding:12px 20px;background:#1d2330;color:#fff}
header h1{font-size:18px;margin:0}#age{margin-left:auto;font-variant-numeric:tabular-nums}
#age.stale{color:#ff8a80;font-weight:600}main{padding:12px 20px;display:grid;gap:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border-radius:8px;padding:10px 16px;
box-shadow:0 1px 2px #0002;min-width:110px}.card b{display:block;font-size:24px;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}section{background:#fff;border-radius:8px;padding:10px 16px;
box-shadow:0 1px 2px #0002}h2{font-size:15px;margin:4px 0 8px}svg{width:100%;height:160px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{text-align:left;padding:3px 8px;
border-bottom:1px solid #e4e6eb}th{position:sticky;top:0;background:#fff}.scroll{max-height:420px;overflow:auto}
.state-alive{color:#1b7f3b}.state-suspect{color:#b26a00}.state-dead{color:#c62828;font-weight:600}
.state-parked{color:#666}.legend span{margin-right:12px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
input{padding:3px 6px}.muted{color:#666}.tree,.tree ul{list-style:none;margin:0;padding-left:0}
.tree ul{margin-left:14px;padding-left:10px;border-left:1px dashed #c5c9d2}.tree li{padding:2px 0}
svg.bar{width:140px;height:10px;vertical-align:middle}`;

const SCRIPT = `
const REFRESH_MS = ${REFRESH_MS};
let lastOkAt = 0;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"})[c]);
function fmtMs(v){ if(v===null||v===undefined) return "-"; return v>=1000?(v/1000).toFixed(2)+" s":Math.round(v)+" ms"; }
function chart(svg, series, colors, unit){
  const w=600,h=160,pad=34; const n=series[0].length; let max=0;
  for(const s of series) for(const v of s) if(v!==null&&v>max) max=v;
  if(max===0) max=1;
  let out='<line x1="'+pad+'" y1="'+(h-18)+'" x2="'+w+'" y2="'+(h-18)+'" stroke="#bbb"/>';
  out+='<text x="2" y="12" font-size="11" fill="#666">'+esc(unit==="ms"?fmtMs(max):max.toFixed(1)+"/s")+'</text>';
  out+='<text x="'+pad+'" y="'+(h-4)+'" font-size="11" fill="#666">-'+Math.round(n/60)+' min</text>';
  out+='<text x="'+(w-28)+'" y="'+(h-4)+'" font-size="11" fill="#666">now</text>';
  series.forEach((s,i)=>{ let d=""; let pen=false;
    s.forEach((v,j)=>{ if(v===null){pen=false;return;} const x=pad+(w-pad)*j/(n-1); const y=(h-18)-(h-30)*v/max;
      d+=(pen?"L":"M")+x.toFixed(1)+" "+y.toFixed(1); pen=true; });
    out+='<path d="'+d+'" fill="none" stroke="'+colors[i]+'" stroke-width="1.5"/>'; });
  svg.setAttribute("viewBox","0 0 "+w+" "+h); svg.innerHTML=out;
}
function smooth(values, k){ return values.map((_, i) => { let sum=0, cnt=0;
  for(let j=Math.max(0,i-k+1);j<=i;j++){ if(values[j]!==null){sum+=values[j];cnt++;} } return cnt?sum/cnt:null; }); }
function overlayNode(n){
  const used=Math.min(80,Math.round(80*n.running/Math.max(1,n.slots)));
  return (n.role==="root"?"<b>root</b> ":"")+'<span class="node-id">'+esc(n.id)+'</span> <span class="state-'+n.state+'">'+
    n.state+'</span> <span class="load">running '+n.running+'/'+n.slots+', queue '+n.queued+'</span> '+
    '<svg class="bar"><rect width="80" height="10" fill="#e4e6eb"/><rect width="'+used+'" height="10" fill="#1565c0"/>'+
    '<rect x="80" width="'+Math.min(60,6*n.queued)+'" height="10" fill="#b26a00"/></svg>'+
    (n.parents.length>1?' <span class="muted">also under '+n.parents.slice(1).map(esc).join(", ")+'</span>':"");
}
function overlayTree(ov){
  const byId=new Map(ov.nodes.map(n=>[n.id,n])); const kids=new Map(); const tops=[];
  const byName=(a,b)=>(a.role==="root"?-1:b.role==="root"?1:a.id<b.id?-1:1);
  for(const n of ov.nodes){ const p=n.role==="root"?undefined:n.parents.find(id=>byId.has(id));
    if(p===undefined) tops.push(n); else { if(!kids.has(p)) kids.set(p,[]); kids.get(p).push(n); } }
  const seen=new Set();
  const item=(n)=>{ if(seen.has(n.id)) return ""; seen.add(n.id); const c=(kids.get(n.id)||[]).sort(byName);
    return '<li data-node="'+esc(n.id)+'">'+overlayNode(n)+(c.length?'<ul>'+c.map(item).join("")+'</ul>':"")+'</li>'; };
  return '<ul class="tree">'+tops.sort(byName).map(item).join("")+'</ul>';
}
function render(d){
  const st=d.status, t=st.tasks;
  $("node").textContent=st.nodeId+" v"+st.version+" · up "+Math.round(st.uptimeS)+" s";
  $("queued").textContent=t.queued; $("running").textContent=t.running;
  $("succeeded").textContent=t.succeeded; $("failed").textContent=t.failed;
  const alive=st.calculators.filter(c=>c.state==="alive").length;
  $("calc-count").textContent=alive+" / "+st.calculators.length;
  const h=d.history;
  chart($("throughput"),[smooth(h.map(s=>s.succeeded),5),smooth(h.map(s=>s.failed),5),smooth(h.map(s=>s.replaced),5)],
    ["#1b7f3b","#c62828","#b26a00"],"/s");
  chart($("latency"),[h.map(s=>s.latencyMeanMs),h.map(s=>s.latencyMaxMs)],["#1565c0","#90a4ae"],"ms");
  const f=$("filter").value.trim().toLowerCase();
  const rows=st.calculators.filter(c=>!f||c.id.toLowerCase().includes(f)||c.state.includes(f)||c.address.includes(f));
  $("calc-rows").innerHTML=rows.map(c=>'<tr data-id="'+esc(c.id)+'"><td>'+esc(c.id)+'</td><td>'+esc(c.address)+
    '</td><td class="state state-'+c.state+'">'+c.state+'</td><td>'+c.capacity+'</td><td>'+c.running+
    '</td><td>'+(c.failureRate*100).toFixed(1)+' %</td><td>'+fmtMs(c.latencyMs)+'</td><td>'+fmtMs(c.lastSeenMs)+' ago</td></tr>').join("");
  $("calc-shown").textContent=rows.length===st.calculators.length?"":"("+rows.length+" shown)";
  $("overlay").innerHTML=st.overlay===null?'<p class="muted">no overlay is running</p>':overlayTree(st.overlay);
  $("failure-rows").innerHTML=d.failures.length===0?'<tr><td colspan="3" class="muted">none</td></tr>':
    d.failures.map(x=>'<tr><td>'+fmtMs(x.ageMs)+' ago</td><td>'+esc(x.taskId)+'</td><td>'+esc(x.reason)+'</td></tr>').join("");
}
async function poll(){
  try { const r=await fetch("/api/dashboard",{cache:"no-store"}); if(r.ok){ render(await r.json()); lastOkAt=Date.now(); } }
  catch(e){} finally { setTimeout(poll, REFRESH_MS); }
}
setInterval(()=>{ const el=$("age"); if(lastOkAt===0){el.textContent="no data yet";return;}
  const age=(Date.now()-lastOkAt)/1000; el.textContent="data "+age.toFixed(1)+" s old"; el.className=age>5?"stale":""; },250);
poll();`;

/** The whole page. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>udp-cluster dashboard</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><header><h1>udp-cluster</h1><span id="node"></span><span id="age" data-testid="age">no data yet</span></header>
<main>
<div class="cards">
<div class="card">calculators alive<b id="calc-count">-</b></div>
<div class="card">queued<b id="queued">-</b></div><div class="card">running<b id="running">-</b></div>
<div class="card">succeeded<b id="succeeded">-</b></div><div class="card">failed<b id="failed">-</b></div>
</div>
<div class="charts">
<section><h2>Throughput, last 5 min (tasks/s, 5 s average)</h2><svg id="throughput"></svg>
<div class="legend"><span><i class="sw" style="background:#1b7f3b"></i>succeeded</span>
<span><i class="sw" style="background:#c62828"></i>failed</span><span><i class="sw" style="background:#b26a00"></i>re-placed</span></div></section>
<section><h2>Latency, last 5 min (arrival to answer)</h2><svg id="latency"></svg>
<div class="legend"><span><i class="sw" style="background:#1565c0"></i>mean</span>
<span><i class="sw" style="background:#90a4ae"></i>max</span></div></section>
</div>
<section><h2>Calculators <span id="calc-shown" class="muted"></span>
<input id="filter" placeholder="filter by id, state or address" aria-label="filter calculators"></h2>
<div class="scroll"><table><thead><tr><th>id</th><th>address</th><th>state</th><th>capacity</th><th>running</th>
<th>failure rate</th><th>latency</th><th>last seen</th></tr></thead><tbody id="calc-rows"></tbody></table></div></section>
<div class="charts">
<section><h2>Overlay (running of slots, queue)</h2><div id="overlay"><p class="muted">-</p></div></section>
<section><h2>Recent failures</h2><div class="scroll" style="max-height:240px"><table><thead><tr><th>when</th><th>task</th>
<th>reason</th></tr></thead><tbody id="failure-rows"></tbody></table></div></section>
</div>
</main><script>${SCRIPT}</script></body></html>
`;
