// A square to draw a digit on: light round strokes on black, mouse, pen or finger (pointer events).
// When a stroke ends, the drawing goes to Python as a PNG data URL (state "image"); Clear sends null.
// Streamlit may call this function again on the same elements (it runs the cleanup first): the drawing and
// a stroke under way live on the canvas element, so they survive.
export default function ({ parentElement, data, setStateValue }) {
  const canvas = parentElement.querySelector("canvas");
  const clear = parentElement.querySelector("button");
  const pen = canvas.getContext("2d");
  const pad = canvas.tlPad ?? (canvas.tlPad = { stroke: null, ready: false });

  function wipe() {
    pen.fillStyle = "#000";
    pen.fillRect(0, 0, canvas.width, canvas.height);
  }

  function at(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
            (event.clientY - box.top) * canvas.height / box.height];
  }

  function line(from, to) {
    pen.strokeStyle = "#fff";
    pen.lineWidth = canvas.width / 11;
    pen.lineCap = "round";
    pen.lineJoin = "round";
    pen.beginPath();
    pen.moveTo(...from);
    pen.lineTo(...to);
    pen.stroke();
  }

  function down(event) {
    if (event.button !== 0 || pad.stroke) return;
    canvas.setPointerCapture(event.pointerId);
    const point = at(event);
    pad.stroke = { id: event.pointerId, last: point };
    line(point, point);  // a tap leaves a dot
    event.preventDefault();
  }

  function move(event) {
    if (!pad.stroke || event.pointerId !== pad.stroke.id) return;
    for (const e of event.getCoalescedEvents?.() ?? [event]) {
      const point = at(e);
      line(pad.stroke.last, point);
      pad.stroke.last = point;
    }
  }

  function up(event) {
    if (!pad.stroke || event.pointerId !== pad.stroke.id) return;
    pad.stroke = null;
    setStateValue("image", canvas.toDataURL("image/png"));
  }

  function reset() {
    wipe();
    setStateValue("image", null);
  }

  if (!pad.ready) {  // a new canvas: black, or the drawing Python still holds (the canvas was rebuilt)
    pad.ready = true;
    wipe();
    if (typeof data === "string" && data.startsWith("data:image/png;base64,")) {
      const picture = new Image();
      picture.onload = () => { pen.drawImage(picture, 0, 0, canvas.width, canvas.height); };
      picture.src = data;
    }
  }
  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  clear.addEventListener("click", reset);
  return () => {
    canvas.removeEventListener("pointerdown", down);
    canvas.removeEventListener("pointermove", move);
    canvas.removeEventListener("pointerup", up);
    canvas.removeEventListener("pointercancel", up);
    clear.removeEventListener("click", reset);
  };
}
