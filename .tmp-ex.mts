import express from "express";
const app = express();
app.use(express.json());
app.post("/orders", (_q, r) => { r.status(201).json({ id: 42 }); });
app.listen(4567, "127.0.0.1");
