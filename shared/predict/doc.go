// Package predict holds PulseHub's statistical models of customer behaviour,
// pure Go with no AWS or HTTP:
//
//   - BG/NBD (Fader, Hardie and Lee 2005) for the number of future purchase
//     occasions and the probability that a customer is still active, and
//     Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV") for the spend
//     per occasion, both fitted by maximum likelihood on purchase occasions
//     (one per customer per day) with time in weeks: Summarise, Fit,
//     Model.Predict. ReadCDNOW and Evaluate are the holdout check behind
//     `pulsehub predict`.
//   - Send-time prediction: an hour-of-week histogram per customer shrunk
//     toward segment and tenant priors (Dirichlet): SendTimeModel.
//   - Channel choice: Thompson sampling over Beta posteriors of conversion,
//     net of the channel's cost, among the channels a customer may receive:
//     ChooseChannel.
//   - Campaign performance: posterior predictive counts and revenue with
//     80 % intervals from past campaigns, and a backtest: ForecastCampaign,
//     Backtest.
//
// docs/predictions.md documents every model's inputs, outputs, quality and
// limits; the tests check them against published values and against
// simulated data whose truth is known.
package predict
