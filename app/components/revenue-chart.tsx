// Revenue against payouts per day as an SVG bar chart drawn on the server (no script), with a title and
// description for assistive technology and the same figures as a table beneath it. Amounts arrive as
// decimal strings of base units; bar heights are computed in bigint and only the pixel count is a number.
import { formatTokenAmount } from "~/ledger/money";

export interface ChartDay {
  day: string;
  /** Base units of the payout token, as decimal strings. */
  revenue: string;
  payouts: string;
}

const WIDTH = 480;
const HEIGHT = 200;
const LEFT = 8;
const BOTTOM = 24;
const TOP = 24;

export function RevenueChart({ days, decimals, symbol, timeZone }: { days: ChartDay[]; decimals: number; symbol: string; timeZone: string }) {
  const values = days.map((d) => ({ day: d.day, revenue: BigInt(d.revenue), payouts: BigInt(d.payouts) }));
  const max = values.reduce((m, d) => (d.revenue > m ? d.revenue : d.payouts > m ? d.payouts : m), 0n);
  const plotHeight = HEIGHT - BOTTOM - TOP;
  const slot = (WIDTH - LEFT) / Math.max(values.length, 1);
  const bar = Math.max(1, Math.floor(slot / 2 - 1));
  const height = (v: bigint) => (max === 0n ? 0 : Number((v * BigInt(plotHeight)) / max));
  const format = (v: bigint) => formatTokenAmount(v, decimals, symbol);
  const totalRevenue = values.reduce((s, d) => s + d.revenue, 0n);
  const totalPayouts = values.reduce((s, d) => s + d.payouts, 0n);
  const first = values[0]?.day ?? "";
  const last = values[values.length - 1]?.day ?? "";
  return (
    <figure className="chart-figure">
      <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="chart-title chart-desc">
        <title id="chart-title">Revenue and payouts per day</title>
        <desc id="chart-desc">
          {`From ${first} to ${last} (${timeZone}): revenue ${format(totalRevenue)}, payouts ${format(totalPayouts)}. The largest day is ${format(max)}. The table below has every day.`}
        </desc>
        <line className="axis" x1={LEFT} y1={HEIGHT - BOTTOM} x2={WIDTH} y2={HEIGHT - BOTTOM} />
        <text x={LEFT} y={16}>{max === 0n ? "nothing yet" : `max ${format(max)}`}</text>
        {values.map((d, i) => {
          const x = LEFT + i * slot;
          const r = height(d.revenue);
          const p = height(d.payouts);
          return (
            <g key={d.day}>
              <rect className="revenue" x={x} y={HEIGHT - BOTTOM - r} width={bar} height={r} />
              <rect className="payouts" x={x + bar + 1} y={HEIGHT - BOTTOM - p} width={bar} height={p} />
              {(values.length - 1 - i) % 7 === 0 ? (
                <text x={i === values.length - 1 ? WIDTH : x} y={HEIGHT - 8} textAnchor={i === values.length - 1 ? "end" : "start"}>
                  {d.day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="legend">
          <li>
            <span className="swatch revenue" aria-hidden="true" />
            Revenue: settlement amount of succeeded payments, by the day recorded
          </li>
          <li>
            <span className="swatch payouts" aria-hidden="true" />
            Payouts: split batches confirmed on chain, by the day confirmed
          </li>
        </ul>
      </figcaption>
      <details>
        <summary>The figures as a table</summary>
        <div className="scroll">
          <table>
            <caption className="muted">Per day in {timeZone}, in {symbol} (1 USD of revenue = 1 {symbol})</caption>
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col" className="num">Revenue</th>
                <th scope="col" className="num">Payouts</th>
              </tr>
            </thead>
            <tbody>
              {values.map((d) => (
                <tr key={d.day} data-day={d.day}>
                  <td>{d.day}</td>
                  <td className="num">{format(d.revenue)}</td>
                  <td className="num">{format(d.payouts)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total</th>
                <td className="num" data-total="revenue">{format(totalRevenue)}</td>
                <td className="num" data-total="payouts">{format(totalPayouts)}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      </details>
    </figure>
  );
}
