<#
.SYNOPSIS
A local HTTP endpoint for bench/ThreadBatch.ps1: answers every request after '?ms=N' milliseconds.

.DESCRIPTION
A System.Net.HttpListener on 127.0.0.1 with a free port. Requests are answered concurrently: each
one waits its delay asynchronously (Task.Delay), so 20 requests of 100 ms take about 100 ms.
Prints '##PORT## <port>' when ready, then serves until its standard input closes (the parent
closes it, or dies), and exits. Not a benchmark: the leading '_' keeps build.ps1 Bench from running it.
#>
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

Add-Type -TypeDefinition @'
using System;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace PSParallelBench
{
    public static class DelayServer
    {
        private static readonly byte[] Body = Encoding.UTF8.GetBytes("ok");
        public static long Served;

        public static HttpListener Start(out int port)
        {
            for (int attempt = 0; ; attempt++)
            {
                var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                var listener = new HttpListener();
                listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
                try { listener.Start(); return listener; }
                catch (HttpListenerException) when (attempt < 20) { listener.Close(); }
            }
        }

        public static async Task ServeAsync(HttpListener listener)
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await listener.GetContextAsync().ConfigureAwait(false); }
                catch (Exception) { if (!listener.IsListening) break; continue; }
                _ = Task.Run(() => AnswerAsync(context));
            }
        }

        private static async Task AnswerAsync(HttpListenerContext context)
        {
            try
            {
                int ms;
                if (int.TryParse(context.Request.QueryString["ms"], out ms) && ms > 0)
                    await Task.Delay(ms).ConfigureAwait(false);
                var response = context.Response;
                response.ContentType = "text/plain";
                response.ContentLength64 = Body.Length;
                await response.OutputStream.WriteAsync(Body, 0, Body.Length).ConfigureAwait(false);
                response.Close();
                Interlocked.Increment(ref Served);
            }
            catch (Exception) { try { context.Response.Abort(); } catch (Exception) { } }
        }
    }
}
'@

[System.Threading.ThreadPool]::SetMinThreads(64, 64) | Out-Null
$port = 0
$listener = [PSParallelBench.DelayServer]::Start([ref]$port)
$serving = [PSParallelBench.DelayServer]::ServeAsync($listener)
[Console]::Out.WriteLine("##PORT## $port")
[Console]::Out.Flush()
try {
    # Serve until the parent closes our standard input.
    while ($null -ne [Console]::In.ReadLine()) { }
}
finally {
    $listener.Stop()
    $listener.Close()
    $null = $serving
}
