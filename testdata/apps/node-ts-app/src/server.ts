import express, { Request, Response } from "express";

const app = express();
const host = "127.0.0.1";
const port = Number(process.env.PORT ?? 18080);

app.get("/health", (_req: Request, res: Response) => {
  res.type("text/plain").send("ok");
});

app.get("/", (_req: Request, res: Response) => {
  res.json({
    app: "orders-api",
    uid: process.getuid ? process.getuid() : null,
    node: process.version,
  });
});

app.listen(port, host, () => {
  console.log(`orders-api listening on http://${host}:${port}`);
});
