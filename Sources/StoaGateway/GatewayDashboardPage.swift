import NIOCore
import NIOHTTP1

/// The dashboard at `/_/`: one self-contained HTML page that polls `/api/gateway` every second
/// and redraws the node, rate-limit and cache tables.
enum GatewayDashboardPage {
    static func response() -> GatewayResponse {
        GatewayResponse(status: .ok, headers: ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"],
                        body: .buffer(ByteBuffer(string: html)))
    }

    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stoa gateway</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}
.alive{color:#187a2f}.suspect{color:#b36b00}.dead{color:#b00020}#err{color:#b00020}
</style></head><body>
<h1>Stoa gateway</h1><div id="meta"></div><div id="err"></div>
<h2>Nodes</h2><table id="nodes"></table>
<h2>Rate limits</h2><table id="limits"></table><div id="top"></div>
<h2>Cache</h2><table id="cache"></table>
<script>
const f=(v,d=1)=>v==null?"–":(typeof v==="number"?v.toFixed(d):v);
function table(id,head,rows){document.getElementById(id).innerHTML="<tr>"+head.map(h=>"<th>"+h+"</th>").join("")+"</tr>"+rows.map(r=>"<tr>"+r.map(c=>"<td>"+c+"</td>").join("")+"</tr>").join("");}
async function refresh(){
 try{
  const s=await (await fetch("/api/gateway",{cache:"no-store"})).json();
  document.getElementById("err").textContent="";
  document.getElementById("meta").textContent="up "+f(s.uptimeSeconds,0)+" s, gossip "+(s.gossip||"–");
  table("nodes",["node","state","for (s)","passive failures","last failure (s ago)","active check (s ago)","in flight","req/s","p50 ms","p99 ms","url"],
   s.nodes.map(n=>['<b>'+n.name+'</b>','<span class="'+n.state+'">'+n.state+(n.ejected?" (ejected)":"")+'</span>',f(n.membershipSecondsAgo,0),n.passiveFailures,f(n.lastPassiveFailureSecondsAgo),n.lastActiveCheckSecondsAgo==null?"none needed":f(n.lastActiveCheckSecondsAgo)+(n.lastActiveCheckPassed?" passed":" failed"),n.inFlight,f(n.requestsPerSecond),f(n.p50Millis,2),f(n.p99Millis,2),n.url]));
  const rl=s.rateLimit;
  if(rl){table("limits",["policy","scope","traffic","rate/s","burst","admitted/s","rejected/s","admitted","rejected"],
   rl.policies.map(p=>[p.name,p.scope,p.traffic,p.rate,p.burst,f(p.admittedPerSecond),f(p.rejectedPerSecond),p.admitted,p.rejected]));
   document.getElementById("top").textContent="keys tracked: "+rl.keys+(rl.topLimitedKeys.length?"; most limited: "+rl.topLimitedKeys.map(k=>k.key+" ("+k.rejected+")").join(", "):"");}
  else table("limits",["rate limiting off"],[]);
  const c=s.cache;
  if(c) table("cache",["hit ratio","hits","misses","stale","bypass","entries","bytes","budget"],[[f(c.hitRatio*100,1)+" %",c.hits,c.misses,c.staleHits,c.bypasses,c.entries,c.bytes,c.byteBudget]]);
  else table("cache",["cache off"],[]);
 }catch(e){document.getElementById("err").textContent="cannot reach /api/gateway: "+e;}
}
refresh();setInterval(refresh,1000);
</script></body></html>
"""#
}
