r"""KL(Dirichlet(e^log_alpha) || Dirichlet(e^log_alpha_p)) over the last axis (the components),
one value per row (density Gamma(a0) prod_j z_j^(a_j - 1) / prod_j Gamma(a_j) on the
simplex, a0 = sum_j a_j) (compiled with numba).

The last axis is the one the kernel reduces itself, through row statistics, each a sum or a
maximum over the row's elements j (size, A, B, B_first, B_second, A_scaled, R_first,
R_second, m, n_top, rest, rest_p, R_rest, rest_change, n_gap, d_max, shifted, shift_step,
F_sum, H_sum in turn):

.. math::

    \mathrm{size} = \sum_{j} 1

.. math::

    A = \sum_{j} e^{\mathrm{log\_alpha}_{j}}

.. math::

    B = \sum_{j} e^{\mathrm{log\_alpha}_{p,j}}

.. math::

    \mathrm{B\_first} = \sum_{j} \begin{cases} \operatorname{exp\_product}\left(
            \mathrm{log\_alpha}_{p,j} - \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{j}\right) & \text{for}\: \left|{\mathrm{log\_alpha}_{j} -
            \mathrm{log\_alpha}_{p,j}}\right| \leq 1 \\0 & \text{otherwise} \end{cases}

.. math::

    \mathrm{B\_second} = \sum_{j} \begin{cases} \operatorname{exp\_product}\left(
            \operatorname{exp\_bregman}\left( 0, \mathrm{log\_alpha}_{p,j} -
            \mathrm{log\_alpha}_{j}\right), \mathrm{log\_alpha}_{j}\right) +
            \operatorname{product\_error}\left( \mathrm{log\_alpha}_{p,j} -
            \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{j}\right) & \text{for}\:
            \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right| \leq 1
            \\\operatorname{exp\_difference}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right) & \text{otherwise} \end{cases}

.. math::

    \mathrm{A\_scaled} = \sum_{j} \begin{cases} \operatorname{exp\_product}\left(
            4.14951556888099 \cdot 10^{180}, \mathrm{log\_alpha}_{j}\right) & \text{for}\:
            e^{\mathrm{log\_alpha}_{j}} < 8.67361737988404 \cdot 10^{-19} \\3.59913103563456
            \cdot 10^{162} & \text{otherwise} \end{cases}

.. math::

    \mathrm{R\_first} = \sum_{j} \begin{cases} \operatorname{exp\_product}\left(
            4.14951556888099 \cdot 10^{180} \mathrm{log\_alpha}_{p,j} - 4.14951556888099
            \cdot 10^{180} \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{j}\right) &
            \text{for}\: \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right|
            \leq 1 \wedge e^{\mathrm{log\_alpha}_{j}} < 8.67361737988404 \cdot 10^{-19}
            \wedge e^{\mathrm{log\_alpha}_{p,j}} < 8.67361737988404 \cdot 10^{-19} \\0 &
            \text{otherwise} \end{cases}

.. math::

    \mathrm{R\_second} = \sum_{j} \begin{cases} \operatorname{exp\_product}\left(
            4.14951556888099 \cdot 10^{180} \operatorname{exp\_bregman}\left( 0,
            \mathrm{log\_alpha}_{p,j} - \mathrm{log\_alpha}_{j}\right),
            \mathrm{log\_alpha}_{j}\right) + \operatorname{product\_error}\left(
            4.14951556888099 \cdot 10^{180} \mathrm{log\_alpha}_{p,j} - 4.14951556888099
            \cdot 10^{180} \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{j}\right) &
            \text{for}\: \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right|
            \leq 1 \wedge e^{\mathrm{log\_alpha}_{j}} < 8.67361737988404 \cdot 10^{-19}
            \wedge e^{\mathrm{log\_alpha}_{p,j}} < 8.67361737988404 \cdot 10^{-19} \\-
            \operatorname{exp\_product}\left( 4.14951556888099 \cdot 10^{180},
            \mathrm{log\_alpha}_{j}\right) + \operatorname{exp\_product}\left(
            4.14951556888099 \cdot 10^{180}, \mathrm{log\_alpha}_{p,j}\right) & \text{for}\:
            e^{\mathrm{log\_alpha}_{j}} < 8.67361737988404 \cdot 10^{-19} \wedge
            e^{\mathrm{log\_alpha}_{p,j}} < 8.67361737988404 \cdot 10^{-19} \\0 &
            \text{otherwise} \end{cases}

.. math::

    m = \max_{j} \mathrm{log\_alpha}_{j}

.. math::

    \mathrm{n\_top} = \sum_{j} \begin{cases} 1 & \text{for}\:
            \mathrm{log\_alpha}_{j} \geq m \\0 & \text{otherwise} \end{cases}

.. math::

    \mathrm{rest} = \sum_{j} \begin{cases} 0 & \text{for}\: \mathrm{log\_alpha}_{j}
            \geq m \\e^{\mathrm{log\_alpha}_{j}} & \text{otherwise} \end{cases}

.. math::

    \mathrm{rest}_{p} = \sum_{j} \begin{cases} 0 & \text{for}\:
            \mathrm{log\_alpha}_{j} \geq m \\e^{\mathrm{log\_alpha}_{p,j}} &
            \text{otherwise} \end{cases}

.. math::

    \mathrm{R\_rest} = \sum_{j} \begin{cases} 0 & \text{for}\:
            \mathrm{log\_alpha}_{j} \geq m \\\operatorname{exp\_difference\_ratio}\left(
            \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{p,j}, 0, 0, A\right) &
            \text{otherwise} \end{cases}

.. math::

    \mathrm{rest\_change} = \sum_{j} \begin{cases} 0 & \text{for}\:
            \mathrm{log\_alpha}_{j} \geq m \\\operatorname{exp\_difference}\left(
            \mathrm{log\_alpha}_{p,j}, \mathrm{log\_alpha}_{j}\right) & \text{otherwise}
            \end{cases}

.. math::

    \mathrm{n\_gap} = \sum_{j} \begin{cases} 1 & \text{for}\: A \geq 2 \mathrm{rest}
            \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j} \geq m \wedge
            \mathrm{n\_top} < \frac{3}{2} \wedge \mathrm{rest} + \mathrm{rest}_{p} <
            \left|{\operatorname{exp\_difference}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right)}\right| \\0 & \text{otherwise} \end{cases}

.. math::

    \mathrm{d}_max = \max_{j} \mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}

.. math::

    \mathrm{shifted} = \sum_{j} \operatorname{exp\_of\_difference}\left( 1,
            \mathrm{log\_alpha}_{j}, \mathrm{d}_max\right)

.. math::

    \mathrm{shift\_step} = \sum_{j} \operatorname{exp\_difference\_ratio}\left(
            \mathrm{log\_alpha}_{p,j}, \mathrm{log\_alpha}_{j}, 0, \mathrm{d}_max, B\right)

.. math::

    \mathrm{F\_sum} = \sum_{j} \begin{cases}
            \operatorname{stirling\_gap\_difference}\left( e^{\mathrm{log\_alpha}_{j}},
            \mathrm{rest}, \operatorname{exp\_difference}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right), \mathrm{rest\_change}\right) & \text{for}\: A
            \geq 2 \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge
            \mathrm{log\_alpha}_{j} \geq m \wedge e^{\mathrm{log\_alpha}_{j}} \geq 9
            \left|{\operatorname{exp\_difference}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right)}\right| \wedge e^{\mathrm{log\_alpha}_{p,j}} \geq
            9 \left|{\operatorname{exp\_difference}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right)}\right| \wedge \mathrm{n\_top} < \frac{3}{2}
            \wedge \mathrm{rest} + \mathrm{rest}_{p} <
            \left|{\operatorname{exp\_difference}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right)}\right| \\-
            \operatorname{stirling\_bregman\_pair}\left( e^{\mathrm{log\_alpha}_{p,j}}, B,
            \mathrm{rest}_{p}, \operatorname{log1p}{\left( \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \right)}\right) + \left( \mathrm{B\_first} +
            \mathrm{B\_second}\right) \operatorname{stirling\_slope\_difference\_pair}\left(
            e^{\mathrm{log\_alpha}_{j}}, A, \mathrm{rest}, \operatorname{log1p}{\left(
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} \right)}\right) - \mathrm{rest}_{p}
            \operatorname{stirling\_slope\_difference}\left( \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}\right) + \operatorname{stirling\_bregman\_pair}\left(
            e^{\mathrm{log\_alpha}_{j}}, A, \mathrm{rest}, \operatorname{log1p}{\left(
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A
            \geq 2 \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge
            \mathrm{log\_alpha}_{j} \geq m \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{rest} + \mathrm{rest}_{p} < \left|{\operatorname{exp\_difference}\left(
            \mathrm{log\_alpha}_{p,j}, \mathrm{log\_alpha}_{j}\right)}\right| \\-
            \operatorname{exp\_bregman}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right) + B \operatorname{exp\_bregman}\left( 0, -
            \begin{cases} \operatorname{log1p}{\left( \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{log1p}{\left(
            \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A} \right)} & \text{for}\: A \geq
            2 \left|{\mathrm{B\_first} + \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A}
            \right)} & \text{for}\: \left|{- \ln{\left( B \right)} + \ln{\left( A
            \right)}}\right| < 700 \\- \ln{\left( A \right)} + \ln{\left( B \right)} &
            \text{otherwise} \end{cases}\right) + \left( 1 + \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}}\right) \operatorname{exp\_bregman}\left(
            0, - \begin{cases} \operatorname{log1p}{\left( \left( \mathrm{R\_rest} -
            \frac{\mathrm{rest} \operatorname{expm1}\left( \mathrm{log\_alpha}_{p,j} -
            \mathrm{log\_alpha}_{j}\right)}{A}\right) e^{\mathrm{log\_alpha}_{j} -
            \mathrm{log\_alpha}_{p,j}} \right)} & \text{for}\:
            \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right| >
            \frac{\mathrm{rest} \left|{\operatorname{expm1}\left( \mathrm{log\_alpha}_{p,j}
            - \mathrm{log\_alpha}_{j}\right)}\right|}{A} + \left|{\mathrm{R\_rest}}\right|
            \\\begin{cases} \operatorname{difference\_sum}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \operatorname{log1p}{\left( \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \right)}, \operatorname{log1p}{\left( \mathrm{rest}
            e^{- \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A \geq 2
            \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j}
            \geq m \wedge \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| >
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} + \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{shift\_step} < - \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} -
            \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}}
            \\\operatorname{difference\_sum}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \begin{cases}
            \operatorname{difference\_of\_differences}\left( \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}, \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}, 0, 0, 0\right) & \text{for}\:
            \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| > 3 +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}}\right| +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}}\right|
            \wedge \left|{- \ln{\left( \mathrm{shifted} \right)} + \ln{\left( B
            \right)}}\right| > 3 + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}}\right| + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B}
            \right)}}\right| \\\operatorname{difference\_of\_differences}\left(
            \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{p,j}, 0, 0, - \begin{cases}
            \operatorname{log1p}{\left( \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{log1p}{\left(
            \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A} \right)} & \text{for}\: A \geq
            2 \left|{\mathrm{B\_first} + \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A}
            \right)} & \text{for}\: \left|{- \ln{\left( B \right)} + \ln{\left( A
            \right)}}\right| < 700 \\- \ln{\left( A \right)} + \ln{\left( B \right)} &
            \text{otherwise} \end{cases}\right) & \text{for}\: \left|{- \ln{\left( B
            \right)} + \ln{\left( A \right)}}\right| < \left|{- \ln{\left( \mathrm{shifted}
            \right)} + \ln{\left( B \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left( \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, \mathrm{d}_max, 0, \begin{cases}
            \operatorname{log1p}{\left( \mathrm{shift\_step} \right)} & \text{for}\:
            \mathrm{shift\_step} \geq - \frac{1}{2} \\\ln{\left( \frac{\mathrm{shifted}}{B}
            \right)} & \text{for}\: \mathrm{shifted} \geq 1.0 \cdot 10^{-300} B \\-
            \ln{\left( B \right)} + \ln{\left( \mathrm{shifted} \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases}, 0\right) & \text{otherwise}
            \end{cases} & \text{otherwise} \end{cases}\right) - \frac{\left(
            \mathrm{R\_first} + \mathrm{R\_second}\right) \left( \begin{cases}
            \operatorname{log1p}{\left( \left( \mathrm{R\_rest} - \frac{\mathrm{rest}
            \operatorname{expm1}\left( \mathrm{log\_alpha}_{p,j} -
            \mathrm{log\_alpha}_{j}\right)}{A}\right) e^{\mathrm{log\_alpha}_{j} -
            \mathrm{log\_alpha}_{p,j}} \right)} & \text{for}\:
            \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right| >
            \frac{\mathrm{rest} \left|{\operatorname{expm1}\left( \mathrm{log\_alpha}_{p,j}
            - \mathrm{log\_alpha}_{j}\right)}\right|}{A} + \left|{\mathrm{R\_rest}}\right|
            \\\begin{cases} \operatorname{difference\_sum}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \operatorname{log1p}{\left( \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \right)}, \operatorname{log1p}{\left( \mathrm{rest}
            e^{- \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A \geq 2
            \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j}
            \geq m \wedge \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| >
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} + \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{shift\_step} < - \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} -
            \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}}
            \\\operatorname{difference\_sum}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \begin{cases}
            \operatorname{difference\_of\_differences}\left( \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}, \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}, 0, 0, 0\right) & \text{for}\:
            \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| > 3 +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}}\right| +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}}\right|
            \wedge \left|{- \ln{\left( \mathrm{shifted} \right)} + \ln{\left( B
            \right)}}\right| > 3 + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}}\right| + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B}
            \right)}}\right| \\\operatorname{difference\_of\_differences}\left(
            \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{p,j}, 0, 0, - \begin{cases}
            \operatorname{log1p}{\left( \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{log1p}{\left(
            \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A} \right)} & \text{for}\: A \geq
            2 \left|{\mathrm{B\_first} + \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A}
            \right)} & \text{for}\: \left|{- \ln{\left( B \right)} + \ln{\left( A
            \right)}}\right| < 700 \\- \ln{\left( A \right)} + \ln{\left( B \right)} &
            \text{otherwise} \end{cases}\right) & \text{for}\: \left|{- \ln{\left( B
            \right)} + \ln{\left( A \right)}}\right| < \left|{- \ln{\left( \mathrm{shifted}
            \right)} + \ln{\left( B \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left( \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, \mathrm{d}_max, 0, \begin{cases}
            \operatorname{log1p}{\left( \mathrm{shift\_step} \right)} & \text{for}\:
            \mathrm{shift\_step} \geq - \frac{1}{2} \\\ln{\left( \frac{\mathrm{shifted}}{B}
            \right)} & \text{for}\: \mathrm{shifted} \geq 1.0 \cdot 10^{-300} B \\-
            \ln{\left( B \right)} + \ln{\left( \mathrm{shifted} \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases}, 0\right) & \text{otherwise}
            \end{cases} & \text{otherwise} \end{cases}\right)}{\mathrm{A\_scaled}} &
            \text{for}\: \mathrm{log\_alpha}_{j} \geq m \wedge A < 8.67361737988404 \cdot
            10^{-19} \wedge B < 8.67361737988404 \cdot 10^{-19} \wedge \mathrm{n\_top} <
            \frac{3}{2} \\- \frac{\begin{cases} - B \operatorname{exp\_bregman}\left( 0, -
            \begin{cases} \operatorname{log1p}{\left( \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{log1p}{\left(
            \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A} \right)} & \text{for}\: A \geq
            2 \left|{\mathrm{B\_first} + \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A}
            \right)} & \text{for}\: \left|{- \ln{\left( B \right)} + \ln{\left( A
            \right)}}\right| < 700 \\- \ln{\left( A \right)} + \ln{\left( B \right)} &
            \text{otherwise} \end{cases}\right) + \operatorname{exp\_bregman}\left( 0,
            \begin{cases} \operatorname{log1p}{\left( \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{log1p}{\left(
            \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A} \right)} & \text{for}\: A \geq
            2 \left|{\mathrm{B\_first} + \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A}
            \right)} & \text{for}\: \left|{- \ln{\left( B \right)} + \ln{\left( A
            \right)}}\right| < 700 \\- \ln{\left( A \right)} + \ln{\left( B \right)} &
            \text{otherwise} \end{cases}\right) & \text{for}\: A < 8.67361737988404 \cdot
            10^{-19} \wedge B < 8.67361737988404 \cdot 10^{-19}
            \\\operatorname{stirling\_bregman\_pair}\left( A, B, \mathrm{B\_first} +
            \mathrm{B\_second}, \begin{cases} \operatorname{log1p}{\left(
            \frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} &
            \text{for}\: \left|{\frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right| \leq \frac{1}{2} \wedge A <
            8.67361737988404 \cdot 10^{-19} \wedge B < 8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left( \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| < 700 \\-
            \ln{\left( A \right)} + \ln{\left( B \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases}}{\mathrm{n\_top}} +
            \begin{cases} - \operatorname{exp\_bregman}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right) + \operatorname{exp\_bregman}\left( 0,
            \mathrm{log\_alpha}_{p,j} - \mathrm{log\_alpha}_{j}\right) & \text{for}\:
            \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right| \leq 1 \wedge
            e^{\mathrm{log\_alpha}_{j}} < 8.67361737988404 \cdot 10^{-19} \wedge
            e^{\mathrm{log\_alpha}_{p,j}} < 8.67361737988404 \cdot 10^{-19}
            \\\operatorname{stirling\_bregman}\left( \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}\right) & \text{otherwise} \end{cases} & \text{for}\:
            \mathrm{log\_alpha}_{j} \geq m \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge
            B < 8.67361737988404 \cdot 10^{-19} \\\begin{cases} -
            \operatorname{exp\_bregman}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right) + \operatorname{exp\_bregman}\left( 0,
            \mathrm{log\_alpha}_{p,j} - \mathrm{log\_alpha}_{j}\right) & \text{for}\:
            \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right| \leq 1 \wedge
            e^{\mathrm{log\_alpha}_{j}} < 8.67361737988404 \cdot 10^{-19} \wedge
            e^{\mathrm{log\_alpha}_{p,j}} < 8.67361737988404 \cdot 10^{-19}
            \\\operatorname{stirling\_bregman}\left( \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}\right) & \text{otherwise} \end{cases} &
            \text{otherwise} \end{cases}

.. math::

    \mathrm{H\_sum} = \sum_{j} \begin{cases}
            \operatorname{exp\_bregman\_split}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \operatorname{log1p}{\left( \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \right)}, \operatorname{log1p}{\left( \mathrm{rest}
            e^{- \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A \geq 2
            \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j}
            \geq m \wedge \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| >
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} + \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{shift\_step} < - \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} -
            \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}} \\-
            e^{\mathrm{log\_alpha}_{p,j}} - \operatorname{exp\_product}\left( \begin{cases}
            \operatorname{difference\_of\_differences}\left( \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}, \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}, 0, 0, 0\right) & \text{for}\:
            \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| > 3 +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}}\right| +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}}\right|
            \wedge \left|{- \ln{\left( \mathrm{shifted} \right)} + \ln{\left( B
            \right)}}\right| > 3 + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}}\right| + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B}
            \right)}}\right| \\\operatorname{difference\_of\_differences}\left(
            \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{p,j}, 0, 0, - \begin{cases}
            \operatorname{log1p}{\left( \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{log1p}{\left(
            \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A} \right)} & \text{for}\: A \geq
            2 \left|{\mathrm{B\_first} + \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A}
            \right)} & \text{for}\: \left|{- \ln{\left( B \right)} + \ln{\left( A
            \right)}}\right| < 700 \\- \ln{\left( A \right)} + \ln{\left( B \right)} &
            \text{otherwise} \end{cases}\right) & \text{for}\: \left|{- \ln{\left( B
            \right)} + \ln{\left( A \right)}}\right| < \left|{- \ln{\left( \mathrm{shifted}
            \right)} + \ln{\left( B \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left( \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, \mathrm{d}_max, 0, \begin{cases}
            \operatorname{log1p}{\left( \mathrm{shift\_step} \right)} & \text{for}\:
            \mathrm{shift\_step} \geq - \frac{1}{2} \\\ln{\left( \frac{\mathrm{shifted}}{B}
            \right)} & \text{for}\: \mathrm{shifted} \geq 1.0 \cdot 10^{-300} B \\-
            \ln{\left( B \right)} + \ln{\left( \mathrm{shifted} \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases},
            \mathrm{log\_alpha}_{p,j}\right) + \operatorname{exp\_product}\left(
            \frac{B}{A}, \mathrm{log\_alpha}_{j}\right) & \text{for}\:
            \mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j} - \ln{\left( A \right)} +
            \ln{\left( B \right)} > 1 \wedge \frac{B}{A} < 1.0 \cdot 10^{308}
            \\\begin{cases} \operatorname{exp\_bregman\_split}\left(
            \mathrm{log\_alpha}_{p,j}, \mathrm{log\_alpha}_{p,j},
            \operatorname{log1p}{\left( \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}}
            \right)}, \operatorname{log1p}{\left( \mathrm{rest} e^{-
            \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A \geq 2 \mathrm{rest}
            \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j} \geq m \wedge
            \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| > \mathrm{rest}
            e^{- \mathrm{log\_alpha}_{j}} + \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{shift\_step} < - \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} -
            \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}}
            \\\operatorname{exp\_bregman\_split}\left( \mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \begin{cases}
            \operatorname{difference\_of\_differences}\left( \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}, \ln{\left(
            \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}, 0, 0, 0\right) & \text{for}\:
            \left|{- \ln{\left( B \right)} + \ln{\left( A \right)}}\right| > 3 +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}}\right| +
            \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}}\right|
            \wedge \left|{- \ln{\left( \mathrm{shifted} \right)} + \ln{\left( B
            \right)}}\right| > 3 + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}}\right| + \left|{\ln{\left( \frac{e^{\mathrm{log\_alpha}_{p,j}}}{B}
            \right)}}\right| \\\operatorname{difference\_of\_differences}\left(
            \mathrm{log\_alpha}_{j}, \mathrm{log\_alpha}_{p,j}, 0, 0, - \begin{cases}
            \operatorname{log1p}{\left( \frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{log1p}{\left(
            \frac{\mathrm{B\_first} + \mathrm{B\_second}}{A} \right)} & \text{for}\: A \geq
            2 \left|{\mathrm{B\_first} + \mathrm{B\_second}}\right| \\\ln{\left( \frac{B}{A}
            \right)} & \text{for}\: \left|{- \ln{\left( B \right)} + \ln{\left( A
            \right)}}\right| < 700 \\- \ln{\left( A \right)} + \ln{\left( B \right)} &
            \text{otherwise} \end{cases}\right) & \text{for}\: \left|{- \ln{\left( B
            \right)} + \ln{\left( A \right)}}\right| < \left|{- \ln{\left( \mathrm{shifted}
            \right)} + \ln{\left( B \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left( \mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, \mathrm{d}_max, 0, \begin{cases}
            \operatorname{log1p}{\left( \mathrm{shift\_step} \right)} & \text{for}\:
            \mathrm{shift\_step} \geq - \frac{1}{2} \\\ln{\left( \frac{\mathrm{shifted}}{B}
            \right)} & \text{for}\: \mathrm{shifted} \geq 1.0 \cdot 10^{-300} B \\-
            \ln{\left( B \right)} + \ln{\left( \mathrm{shifted} \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases}, 0\right) & \text{otherwise}
            \end{cases} & \text{otherwise} \end{cases}

and the row value

.. math::

    \ell = \begin{cases} 0 & \text{for}\: \mathrm{size} < \frac{3}{2} \\\mathrm{F\_sum} +
            \mathrm{H\_sum} - \begin{cases} 0 & \text{for}\: \left(A < 8.67361737988404
            \cdot 10^{-19} \wedge B < 8.67361737988404 \cdot 10^{-19}\right) \vee
            \mathrm{n\_gap} > \frac{1}{2} \\\begin{cases} - B
            \operatorname{exp\_bregman}\left(0, - \begin{cases}
            \operatorname{log1p}{\left(\frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left(\frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left(\frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| < 700 \\-
            \ln{\left(A \right)} + \ln{\left(B \right)} & \text{otherwise}
            \end{cases}\right) + \operatorname{exp\_bregman}\left(0, \begin{cases}
            \operatorname{log1p}{\left(\frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left(\frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left(\frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| < 700 \\-
            \ln{\left(A \right)} + \ln{\left(B \right)} & \text{otherwise}
            \end{cases}\right) & \text{for}\: A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19} \\\operatorname{stirling\_bregman\_pair}\left(A,
            B, \mathrm{B\_first} + \mathrm{B\_second}, \begin{cases}
            \operatorname{log1p}{\left(\frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left(\frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left(\frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| < 700 \\-
            \ln{\left(A \right)} + \ln{\left(B \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases} & \text{otherwise} \end{cases}
            & \text{otherwise} \end{cases}

Leading axes are batch axes; the last axis must not be empty.
``kl_dirichlet`` gives one value per row, ``kl_dirichlet_grad`` the gradient of their sum with
respect to every argument, ``kl_dirichlet_value_and_grad`` both.

Conventions: inputs are float32 or float64 numpy arrays (or what numpy turns into them) with
a last axis, broadcast against each other; results have the inputs' float type, computed in
float64 and rounded once. Other dtypes raise TypeError and shapes that do not broadcast
ValueError, naming the argument. Arrays of other libraries (torch, CuPy, JAX, any with the
array API) go through array-api-compat: the same formulas in float64, results in the inputs'
type and device. A NaN gives NaN in its own row only.

Generated by klgen from kernel kl_dirichlet of the spec file dirichlet.py.
Do not edit: change its file in specs/ and run `klgen generate`;
`klgen check` fails while this file differs from what they make.
klgen-hash: 3b97cc103ff6bfa2
"""

import numba
import numpy as np
from numpy.typing import ArrayLike

from ._functions import (
    compensated_row_sum_generic,
    difference_of_differences_generic,
    difference_sum_generic,
    exp_bregman_generic,
    exp_bregman_split_generic,
    exp_difference_generic,
    exp_difference_ratio_generic,
    exp_difference_split_generic,
    exp_of_difference_generic,
    exp_product_generic,
    product_error_generic,
    stirling_bregman_generic,
    stirling_bregman_pair_generic,
    stirling_curvature_at_generic,
    stirling_curvature_generic,
    stirling_gap_difference_generic,
    stirling_slope_difference_generic,
    stirling_slope_difference_pair_generic,
)
from ._numba_functions import (
    difference_of_differences,
    difference_sum,
    exp_bregman,
    exp_bregman_split,
    exp_difference,
    exp_difference_ratio,
    exp_difference_split,
    exp_of_difference,
    exp_product,
    product_error,
    stirling_bregman,
    stirling_bregman_pair,
    stirling_curvature,
    stirling_curvature_at,
    stirling_gap_difference,
    stirling_slope_difference,
    stirling_slope_difference_pair,
)
from ._runtime import (
    FloatArray,
    array_namespace,
    check_no_overlap,
    for_all_rows,
    generic_series,
    gradient_buffers,
    is_dask,
    is_numpy,
    on_dask_chunks,
    prepare,
    prepare_generic,
    reduce_generic,
    reduce_gradients,
    split_out,
    value_buffer,
)

# Compiled against these files as sealed (numba caches this module's loops by this file
# alone, so naming their seals here makes a changed helper module recompile them):
#     _numba_functions.py sealed 0fcb6f8b8f1bc301
#     _constants.py sealed b50e8ba3c891ea93

__all__ = ["kl_dirichlet", "kl_dirichlet_grad", "kl_dirichlet_value_and_grad"]

_NAMES = (
    "log_alpha",
    "log_alpha_p",
)


def kl_dirichlet(log_alpha: ArrayLike, log_alpha_p: ArrayLike) -> FloatArray:
    r"""KL(Dirichlet(e^log_alpha) || Dirichlet(e^log_alpha_p)) over the last axis (the
    components), one value per row (density Gamma(a0) prod_j z_j^(a_j - 1) / prod_j
    Gamma(a_j) on the simplex, a0 = sum_j a_j) (the last axis reduced)."""
    arrays = (log_alpha, log_alpha_p)
    if is_dask(arrays):
        return on_dask_chunks(kl_dirichlet, "value", _NAMES, arrays)
    if not is_numpy(arrays):
        return _value_generic(*arrays)
    arrays, shape = _prepared(arrays)
    value = value_buffer(shape, arrays[0].dtype)
    _run("value", arrays, (value,), shape)
    return value


def kl_dirichlet_grad(
    log_alpha: ArrayLike, log_alpha_p: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    r"""The gradients of ``kl_dirichlet(...).sum()``: (dlog_alpha, dlog_alpha_p), each of its
    argument's shape and dtype (summed over the axes it was broadcast along).

    .. math::

        \frac{\partial \ell}{\partial \mathrm{log\_alpha}_{j}} = \begin{cases} 0 &
            \text{for}\: \mathrm{size} < \frac{3}{2} \\- \begin{cases}
            \operatorname{exp\_product}\left(\operatorname{expm1}\left(\mathrm{log\_alpha}_{p,j}
            - \mathrm{log\_alpha}_{j}\right)
            \operatorname{stirling\_curvature}\left(\mathrm{log\_alpha}_{j}\right),
            \mathrm{log\_alpha}_{j}\right) & \text{for}\: \left|{\mathrm{log\_alpha}_{j} -
            \mathrm{log\_alpha}_{p,j}}\right| \leq 1 \wedge e^{\mathrm{log\_alpha}_{j}} <
            8.67361737988404 \cdot 10^{-19} \wedge e^{\mathrm{log\_alpha}_{p,j}} <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{exp\_difference}\left(\mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{j}\right)
            \operatorname{stirling\_curvature}\left(\mathrm{log\_alpha}_{j}\right) &
            \text{otherwise} \end{cases} + \begin{cases}
            \operatorname{exp\_product}\left(\frac{\left(\mathrm{R\_first} +
            \mathrm{R\_second}\right)
            \operatorname{stirling\_curvature\_at}\left(A\right)}{\mathrm{A\_scaled}},
            \mathrm{log\_alpha}_{j}\right) & \text{for}\: A < 8.67361737988404 \cdot
            10^{-19} \wedge B < 8.67361737988404 \cdot 10^{-19}
            \\\frac{\left(\mathrm{B\_first} + \mathrm{B\_second}\right)
            e^{\mathrm{log\_alpha}_{j}}
            \operatorname{stirling\_curvature\_at}\left(A\right)}{A} & \text{otherwise}
            \end{cases} + \begin{cases}
            \operatorname{exp\_difference\_split}\left(\mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \operatorname{log1p}{\left(\mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \right)}, \operatorname{log1p}{\left(\mathrm{rest}
            e^{- \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A \geq 2
            \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j}
            \geq m \wedge \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| >
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} + \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{shift\_step} < - \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} -
            \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}} \\-
            e^{\mathrm{log\_alpha}_{p,j}} + \operatorname{exp\_product}\left(\frac{B}{A},
            \mathrm{log\_alpha}_{j}\right) & \text{for}\: \mathrm{log\_alpha}_{j} -
            \mathrm{log\_alpha}_{p,j} - \ln{\left(A \right)} + \ln{\left(B \right)} > 1
            \wedge \frac{B}{A} < 1.0 \cdot 10^{308} \\\begin{cases}
            \operatorname{exp\_difference\_split}\left(\mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \operatorname{log1p}{\left(\mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \right)}, \operatorname{log1p}{\left(\mathrm{rest}
            e^{- \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A \geq 2
            \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j}
            \geq m \wedge \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| >
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} + \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{shift\_step} < - \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} -
            \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}}
            \\\operatorname{exp\_difference\_split}\left(\mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \begin{cases}
            \operatorname{difference\_of\_differences}\left(\ln{\left(\frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}, \ln{\left(\frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}, 0, 0,
            0\right) & \text{for}\: \left|{- \ln{\left(B \right)} + \ln{\left(A
            \right)}}\right| > 3 + \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}}\right| + \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{p,j}}}{B}
            \right)}}\right| \wedge \left|{- \ln{\left(\mathrm{shifted} \right)} +
            \ln{\left(B \right)}}\right| > 3 +
            \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}}\right| +
            \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left(\mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, 0, 0, - \begin{cases}
            \operatorname{log1p}{\left(\frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left(\frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left(\frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| < 700 \\-
            \ln{\left(A \right)} + \ln{\left(B \right)} & \text{otherwise}
            \end{cases}\right) & \text{for}\: \left|{- \ln{\left(B \right)} + \ln{\left(A
            \right)}}\right| < \left|{- \ln{\left(\mathrm{shifted} \right)} + \ln{\left(B
            \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left(\mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, \mathrm{d}_max, 0, \begin{cases}
            \operatorname{log1p}{\left(\mathrm{shift\_step} \right)} & \text{for}\:
            \mathrm{shift\_step} \geq - \frac{1}{2} \\\ln{\left(\frac{\mathrm{shifted}}{B}
            \right)} & \text{for}\: \mathrm{shifted} \geq 1.0 \cdot 10^{-300} B \\-
            \ln{\left(B \right)} + \ln{\left(\mathrm{shifted} \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases}, 0\right) & \text{otherwise}
            \end{cases} & \text{otherwise} \end{cases} & \text{otherwise} \end{cases}

        \frac{\partial \ell}{\partial \mathrm{log\_alpha}_{p,j}} = \begin{cases} 0 &
            \text{for}\: \mathrm{size} < \frac{3}{2} \\\operatorname{exp\_product}\left(-
            \begin{cases} - \begin{cases} \operatorname{log1p}{\left(\frac{\mathrm{R\_first}
            + \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left(\frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left(\frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| < 700 \\-
            \ln{\left(A \right)} + \ln{\left(B \right)} & \text{otherwise} \end{cases} +
            \frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled} B} &
            \text{for}\: A < 8.67361737988404 \cdot 10^{-19} \wedge B < 8.67361737988404
            \cdot 10^{-19} \\\operatorname{stirling\_slope\_difference\_pair}\left(A, B,
            \mathrm{B\_first} + \mathrm{B\_second}, \begin{cases}
            \operatorname{log1p}{\left(\frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left(\frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left(\frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| < 700 \\-
            \ln{\left(A \right)} + \ln{\left(B \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases} - \begin{cases}
            \operatorname{difference\_sum}\left(\mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \operatorname{log1p}{\left(\mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \right)}, \operatorname{log1p}{\left(\mathrm{rest}
            e^{- \mathrm{log\_alpha}_{j}} \right)}\right) & \text{for}\: A \geq 2
            \mathrm{rest} \wedge B \geq 2 \mathrm{rest}_{p} \wedge \mathrm{log\_alpha}_{j}
            \geq m \wedge \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| >
            \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} + \mathrm{rest}_{p} e^{-
            \mathrm{log\_alpha}_{p,j}} \wedge \mathrm{n\_top} < \frac{3}{2} \wedge
            \mathrm{shift\_step} < - \mathrm{rest} e^{- \mathrm{log\_alpha}_{j}} -
            \mathrm{rest}_{p} e^{- \mathrm{log\_alpha}_{p,j}}
            \\\operatorname{difference\_sum}\left(\mathrm{log\_alpha}_{p,j},
            \mathrm{log\_alpha}_{p,j}, \begin{cases}
            \operatorname{difference\_of\_differences}\left(\ln{\left(\frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}, \ln{\left(\frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}, 0, 0,
            0\right) & \text{for}\: \left|{- \ln{\left(B \right)} + \ln{\left(A
            \right)}}\right| > 3 + \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{j}}}{A}
            \right)}}\right| + \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{p,j}}}{B}
            \right)}}\right| \wedge \left|{- \ln{\left(\mathrm{shifted} \right)} +
            \ln{\left(B \right)}}\right| > 3 +
            \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{j}}}{A} \right)}}\right| +
            \left|{\ln{\left(\frac{e^{\mathrm{log\_alpha}_{p,j}}}{B} \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left(\mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, 0, 0, - \begin{cases}
            \operatorname{log1p}{\left(\frac{\mathrm{R\_first} +
            \mathrm{R\_second}}{\mathrm{A\_scaled}} \right)} & \text{for}\:
            \left|{\frac{\mathrm{R\_first} + \mathrm{R\_second}}{\mathrm{A\_scaled}}}\right|
            \leq \frac{1}{2} \wedge A < 8.67361737988404 \cdot 10^{-19} \wedge B <
            8.67361737988404 \cdot 10^{-19}
            \\\operatorname{log1p}{\left(\frac{\mathrm{B\_first} + \mathrm{B\_second}}{A}
            \right)} & \text{for}\: A \geq 2 \left|{\mathrm{B\_first} +
            \mathrm{B\_second}}\right| \\\ln{\left(\frac{B}{A} \right)} & \text{for}\:
            \left|{- \ln{\left(B \right)} + \ln{\left(A \right)}}\right| < 700 \\-
            \ln{\left(A \right)} + \ln{\left(B \right)} & \text{otherwise}
            \end{cases}\right) & \text{for}\: \left|{- \ln{\left(B \right)} + \ln{\left(A
            \right)}}\right| < \left|{- \ln{\left(\mathrm{shifted} \right)} + \ln{\left(B
            \right)}}\right|
            \\\operatorname{difference\_of\_differences}\left(\mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}, \mathrm{d}_max, 0, \begin{cases}
            \operatorname{log1p}{\left(\mathrm{shift\_step} \right)} & \text{for}\:
            \mathrm{shift\_step} \geq - \frac{1}{2} \\\ln{\left(\frac{\mathrm{shifted}}{B}
            \right)} & \text{for}\: \mathrm{shifted} \geq 1.0 \cdot 10^{-300} B \\-
            \ln{\left(B \right)} + \ln{\left(\mathrm{shifted} \right)} & \text{otherwise}
            \end{cases}\right) & \text{otherwise} \end{cases}, 0\right) & \text{otherwise}
            \end{cases} + \begin{cases} \mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}
            +
            \operatorname{exp\_product}\left(\operatorname{expm1}\left(\mathrm{log\_alpha}_{p,j}
            - \mathrm{log\_alpha}_{j}\right), - \mathrm{log\_alpha}_{p,j}\right) &
            \text{for}\: \left|{\mathrm{log\_alpha}_{j} - \mathrm{log\_alpha}_{p,j}}\right|
            \leq 1 \wedge e^{\mathrm{log\_alpha}_{j}} < 8.67361737988404 \cdot 10^{-19}
            \wedge e^{\mathrm{log\_alpha}_{p,j}} < 8.67361737988404 \cdot 10^{-19}
            \\\operatorname{stirling\_slope\_difference}\left(\mathrm{log\_alpha}_{j},
            \mathrm{log\_alpha}_{p,j}\right) & \text{otherwise} \end{cases},
            \mathrm{log\_alpha}_{p,j}\right) & \text{otherwise} \end{cases}
    """
    arrays = (log_alpha, log_alpha_p)
    if is_dask(arrays):
        return on_dask_chunks(kl_dirichlet_grad, "grad", _NAMES, arrays)
    if not is_numpy(arrays):
        return _grad_generic(*arrays)
    arrays, shape = _prepared(arrays)
    buffers = gradient_buffers(_NAMES, arrays, shape, arrays[0].dtype)
    _run("grad", arrays, buffers, shape)
    return reduce_gradients(buffers, arrays)


def kl_dirichlet_value_and_grad(
    log_alpha: ArrayLike,
    log_alpha_p: ArrayLike,
    *,
    out: tuple[FloatArray, FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, tuple[FloatArray, FloatArray]]:
    r"""``kl_dirichlet`` and ``kl_dirichlet_grad`` in one pass: (value, (dlog_alpha,
    dlog_alpha_p)).

    ``out``, if given, is the tuple (value, dlog_alpha, dlog_alpha_p) of writeable C-contiguous
    numpy arrays of the result shapes and dtype, written in place and returned; they must
    overlap neither each other nor the inputs. Every entry is checked before any is written.
    """
    arrays = (log_alpha, log_alpha_p)
    if not is_numpy(arrays) and out is not None:
        raise TypeError("out= is for numpy arrays; other array libraries return new arrays")
    if is_dask(arrays):
        return on_dask_chunks(kl_dirichlet_value_and_grad, "value_and_grad", _NAMES, arrays)
    if not is_numpy(arrays):
        return _value_and_grad_generic(*arrays)
    arrays, shape = _prepared(arrays)
    dtype = arrays[0].dtype
    value_out, grad_outs = split_out(out, _NAMES)
    value = value_buffer(shape, dtype, value_out)
    buffers = gradient_buffers(_NAMES, arrays, shape, dtype, grad_outs)
    if out is not None:
        check_no_overlap(_NAMES, (log_alpha, log_alpha_p), out)
    _run("value_and_grad", arrays, (value, *buffers), shape)
    grads = reduce_gradients(buffers, arrays, grad_outs)
    return (value, grads) if out is None else (out[0], tuple(out[1:]))


def _prepared(arrays):
    """:func:`prepare`'s checks, and a last axis that holds something (a row of no elements
    has no statistics)."""
    arrays, shape = prepare(_NAMES, arrays)
    _check_rows(shape)
    return arrays, shape


def _check_rows(shape):
    if shape[-1] == 0:
        names = ", ".join(_NAMES)
        raise ValueError(
            f"the last axis of {names} is empty: kl_dirichlet needs an element per row"
        )


def _run(kind, arrays, outputs, shape):
    """The compiled rows of ``kind`` over every row."""
    for_all_rows(_ROWS[kind], arrays, outputs, shape)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _value_rows(log_alpha_flat, log_alpha_p_flat, value, latent, first, last):
    """Rows first..last of flat C-ordered arrays: each statistic one pass over the row, in
    float64 (numpy's error model: a division by 0 gives inf or NaN, as in the numpy module,
    not ZeroDivisionError)."""
    for row in range(first, last):
        start = row * latent
        size = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = 1.0
            size += term
        A = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = np.exp(log_alpha)
            A += term
        B = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = np.exp(log_alpha_p)
            B += term
        B_first = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_product_log_alpha_log_alpha_p = exp_product(
                neg_log_alpha_minus_log_alpha_p, log_alpha
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            term = (
                exp_product_log_alpha_log_alpha_p if abs_log_alpha_minus_log_alpha_p_le_1 else 0.0
            )
            partial = B_first + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - B_first
                compensation += (B_first - (partial - from_term)) + (term - from_term)
            B_first = partial
        B_first += compensation
        B_second = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_minus_log_alpha_p)
            exp_product_log_alpha_log_alpha_p = exp_product(
                exp_bregman_log_alpha_log_alpha_p, log_alpha
            )
            product_error_log_alpha_log_alpha_p = product_error(
                neg_log_alpha_minus_log_alpha_p, log_alpha
            )
            sum_log_alpha_log_alpha_p = (
                exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            term = (
                sum_log_alpha_log_alpha_p
                if abs_log_alpha_minus_log_alpha_p_le_1
                else exp_difference_log_alpha_p_log_alpha
            )
            partial = B_second + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - B_second
                compensation += (B_second - (partial - from_term)) + (term - from_term)
            B_second = partial
        B_second += compensation
        A_scaled = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            exp_product_log_alpha = exp_product(4.149515568880993e180, log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            term = exp_product_log_alpha if condition_log_alpha else 3.599131035634557e162
            A_scaled += term
        R_first = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
            product_log_alpha = 4.149515568880993e180 * log_alpha
            sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
            exp_product_log_alpha_log_alpha_p = exp_product(sum_log_alpha_log_alpha_p, log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p = (
                abs_log_alpha_minus_log_alpha_p_le_1
                and condition_log_alpha
                and condition_log_alpha_p
            )
            term = exp_product_log_alpha_log_alpha_p if condition_log_alpha_log_alpha_p else 0.0
            partial = R_first + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_first
                compensation += (R_first - (partial - from_term)) + (term - from_term)
            R_first = partial
        R_first += compensation
        R_second = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_minus_log_alpha_p)
            product_log_alpha_log_alpha_p = (
                4.149515568880993e180 * exp_bregman_log_alpha_log_alpha_p
            )
            exp_product_log_alpha_log_alpha_p = exp_product(
                product_log_alpha_log_alpha_p, log_alpha
            )
            product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
            product_log_alpha = 4.149515568880993e180 * log_alpha
            sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
            product_error_log_alpha_log_alpha_p = product_error(
                sum_log_alpha_log_alpha_p, log_alpha
            )
            sum_log_alpha_log_alpha_p_2 = (
                exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p = (
                abs_log_alpha_minus_log_alpha_p_le_1
                and condition_log_alpha
                and condition_log_alpha_p
            )
            exp_product_log_alpha = exp_product(4.149515568880993e180, log_alpha)
            exp_product_log_alpha_p = exp_product(4.149515568880993e180, log_alpha_p)
            sum_log_alpha_log_alpha_p_3 = exp_product_log_alpha_p - exp_product_log_alpha
            condition_log_alpha_log_alpha_p_2 = condition_log_alpha and condition_log_alpha_p
            term = (
                sum_log_alpha_log_alpha_p_2
                if condition_log_alpha_log_alpha_p
                else (sum_log_alpha_log_alpha_p_3 if condition_log_alpha_log_alpha_p_2 else 0.0)
            )
            partial = R_second + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_second
                compensation += (R_second - (partial - from_term)) + (term - from_term)
            R_second = partial
        R_second += compensation
        m = -np.inf
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = log_alpha
            if term > m or term != term:
                m = term
        n_top = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            term = 1.0 if log_alpha_ge_m else 0.0
            n_top += term
        rest = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_log_alpha = np.exp(log_alpha)
            term = 0.0 if log_alpha_ge_m else exp_log_alpha
            rest += term
        rest_p = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_log_alpha_p = np.exp(log_alpha_p)
            term = 0.0 if log_alpha_ge_m else exp_log_alpha_p
            rest_p += term
        R_rest = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_difference_ratio_2 = exp_difference_ratio(log_alpha, log_alpha_p, 0.0, 0.0, A)
            term = 0.0 if log_alpha_ge_m else exp_difference_ratio_2
            partial = R_rest + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_rest
                compensation += (R_rest - (partial - from_term)) + (term - from_term)
            R_rest = partial
        R_rest += compensation
        rest_change = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            term = 0.0 if log_alpha_ge_m else exp_difference_log_alpha_p_log_alpha
            partial = rest_change + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - rest_change
                compensation += (rest_change - (partial - from_term)) + (term - from_term)
            rest_change = partial
        rest_change += compensation
        n_gap = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            rest_plus_rest_p = rest + rest_p
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            abs_log_alpha_log_alpha_p = np.absolute(exp_difference_log_alpha_p_log_alpha)
            condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
            condition_2 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and condition
                and condition_n_top
                and log_alpha_ge_m
            )
            term = 1.0 if condition_2 else 0.0
            n_gap += term
        d_max = -np.inf
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = log_alpha - log_alpha_p
            if term > d_max or term != term:
                d_max = term
        shifted = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = exp_of_difference(1.0, log_alpha, d_max)
            shifted += term
        shift_step = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = exp_difference_ratio(log_alpha_p, log_alpha, 0.0, d_max, B)
            shift_step += term
        F_sum = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            exp_log_alpha = np.exp(log_alpha)
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            log_alpha_ge_m = log_alpha >= m
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            abs_log_alpha_log_alpha_p = np.absolute(exp_difference_log_alpha_p_log_alpha)
            rest_plus_rest_p = rest + rest_p
            condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
            product_log_alpha_log_alpha_p = 9.0 * abs_log_alpha_log_alpha_p
            exp_log_alpha_p = np.exp(log_alpha_p)
            neg_log_alpha = -log_alpha
            exp_neg_log_alpha = np.exp(neg_log_alpha)
            rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
            log1p_rest_exp_neg_log_alpha = np.log1p(rest_exp_neg_log_alpha)
            B_first_plus_B_second = B_first + B_second
            neg_log_alpha_p = -log_alpha_p
            exp_neg_log_alpha_p = np.exp(neg_log_alpha_p)
            rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
            log1p_rest_p_exp_neg_log_alpha_p = np.log1p(rest_p_exp_neg_log_alpha_p)
            exp_bregman_log_alpha_p_log_alpha = exp_bregman(log_alpha_p, log_alpha)
            product_log_alpha_log_alpha_p_2 = -exp_bregman_log_alpha_p_log_alpha
            R_first_plus_R_second = R_first + R_second
            over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
            condition_A = A < 8.673617379884035e-19
            condition_B = B < 8.673617379884035e-19
            inv_A = 1.0 / A
            log_B = np.log(B)
            log_A = np.log(A)
            log_A_minus_log_B = log_A - log_B
            abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
            log1p_A_scaled_R_first_R_second = np.log1p(over_A_scaled_R_first_plus_R_second)
            abs_A_scaled_R_first_R_second = np.absolute(over_A_scaled_R_first_plus_R_second)
            condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
            condition_2 = condition_A and condition_A_scaled_R_first_R_second and condition_B
            B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
            log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
            abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
            twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
            A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
            B_inv_A = B * inv_A
            log_B_inv_A = np.log(B_inv_A)
            condition_A_B = abs_log_A_minus_log_B < 700.0
            neg_log_A_minus_log_B = -log_A_minus_log_B
            piecewise = (
                log1p_A_scaled_R_first_R_second
                if condition_2
                else (
                    log1p_B_first_plus_B_second_inv_A
                    if A_ge_twice_abs_B_first_plus_B_second
                    else (log_B_inv_A if condition_A_B else neg_log_A_minus_log_B)
                )
            )
            neg_piecewise = -piecewise
            exp_bregman_2 = exp_bregman(0.0, neg_piecewise)
            B_exp_bregman_2 = B * exp_bregman_2
            log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
            neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
            expm1_log_alpha_log_alpha_p = np.expm1(neg_log_alpha_plus_neg_log_alpha_p)
            inv_A_rest = inv_A * rest
            abs_log_alpha_plus_neg_log_alpha_p = np.absolute(log_alpha_plus_neg_log_alpha_p)
            sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
            exp_log_alpha_inv_A = exp_log_alpha * inv_A
            log_exp_log_alpha_inv_A = np.log(exp_log_alpha_inv_A)
            inv_B = 1.0 / B
            exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
            log_exp_log_alpha_p_inv_B = np.log(exp_log_alpha_p_inv_B)
            abs_log_exp_log_alpha_inv_A = np.absolute(log_exp_log_alpha_inv_A)
            abs_log_exp_log_alpha_p_inv_B = np.absolute(log_exp_log_alpha_p_inv_B)
            sum_A_B_log_alpha_log_alpha_p = (
                abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
            )
            log_shifted = np.log(shifted)
            log_B_minus_log_shifted = log_B - log_shifted
            abs_log_B_minus_log_shifted = np.absolute(log_B_minus_log_shifted)
            product_A_log_alpha_log_alpha_p_rest = expm1_log_alpha_log_alpha_p * inv_A_rest
            sum_2 = R_rest - product_A_log_alpha_log_alpha_p_rest
            exp_log_alpha_plus_neg_log_alpha_p = np.exp(log_alpha_plus_neg_log_alpha_p)
            product = sum_2 * exp_log_alpha_plus_neg_log_alpha_p
            log1p_product = np.log1p(product)
            abs_expm1_log_alpha_log_alpha_p = np.absolute(expm1_log_alpha_log_alpha_p)
            product_A_log_alpha_log_alpha_p_rest_2 = inv_A_rest * abs_expm1_log_alpha_log_alpha_p
            abs_R_rest = np.absolute(R_rest)
            sum_3 = product_A_log_alpha_log_alpha_p_rest_2 + abs_R_rest
            condition_3 = abs_log_alpha_plus_neg_log_alpha_p > sum_3
            difference_sum_2 = difference_sum(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
            neg_sum = -sum
            shift_step_lt_neg_sum = shift_step < neg_sum
            condition_4 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and abs_log_A_minus_log_B_gt_sum
                and condition_n_top
                and log_alpha_ge_m
                and shift_step_lt_neg_sum
            )
            difference_of_differences_2 = difference_of_differences(
                log_exp_log_alpha_inv_A, log_exp_log_alpha_p_inv_B, 0.0, 0.0, 0.0
            )
            condition_A_B_log_alpha_log_alpha_p = (
                abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
            )
            condition_5 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
            condition_6 = condition_5 and condition_A_B_log_alpha_log_alpha_p
            difference_of_differences_3 = difference_of_differences(
                log_alpha, log_alpha_p, 0.0, 0.0, neg_piecewise
            )
            condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
            log1p_shift_step = np.log1p(shift_step)
            condition_shift_step = shift_step >= -0.5
            inv_B_shifted = inv_B * shifted
            log_inv_B_shifted = np.log(inv_B_shifted)
            product_B = 1e-300 * B
            shifted_ge_product_B = shifted >= product_B
            neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
            piecewise_B_shift_step_shifted = (
                log1p_shift_step
                if condition_shift_step
                else (log_inv_B_shifted if shifted_ge_product_B else neg_log_B_minus_log_shifted)
            )
            difference_of_differences_4 = difference_of_differences(
                log_alpha, log_alpha_p, d_max, 0.0, piecewise_B_shift_step_shifted
            )
            piecewise_2 = (
                difference_of_differences_2
                if condition_6
                else (
                    difference_of_differences_3
                    if condition_A_B_shifted
                    else difference_of_differences_4
                )
            )
            difference_sum_3 = difference_sum(log_alpha_p, log_alpha_p, piecewise_2, 0.0)
            piecewise_3 = difference_sum_2 if condition_4 else difference_sum_3
            piecewise_4 = log1p_product if condition_3 else piecewise_3
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_plus_neg_log_alpha_p)
            sum_log_alpha_log_alpha_p = (
                product_log_alpha_log_alpha_p_2 + exp_bregman_log_alpha_log_alpha_p
            )
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p_2 = (
                condition_log_alpha and condition_log_alpha_log_alpha_p and condition_log_alpha_p
            )
            stirling_bregman_2 = stirling_bregman(log_alpha, log_alpha_p)
            piecewise_log_alpha_log_alpha_p = (
                sum_log_alpha_log_alpha_p
                if condition_log_alpha_log_alpha_p_2
                else stirling_bregman_2
            )
            stirling_gap_difference_2 = stirling_gap_difference(
                exp_log_alpha, rest, exp_difference_log_alpha_p_log_alpha, rest_change
            )
            condition_log_alpha_log_alpha_p_3 = exp_log_alpha >= product_log_alpha_log_alpha_p
            condition_log_alpha_log_alpha_p_4 = exp_log_alpha_p >= product_log_alpha_log_alpha_p
            condition_7 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and condition
                and condition_log_alpha_log_alpha_p_3
                and condition_log_alpha_log_alpha_p_4
                and condition_n_top
                and log_alpha_ge_m
            )
            stirling_bregman_pair_2 = stirling_bregman_pair(
                exp_log_alpha_p, B, rest_p, log1p_rest_p_exp_neg_log_alpha_p
            )
            stirling_slope_difference_pair_2 = stirling_slope_difference_pair(
                exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
            )
            product_2 = B_first_plus_B_second * stirling_slope_difference_pair_2
            stirling_slope_difference_2 = stirling_slope_difference(log_alpha, log_alpha_p)
            rest_p_stirling_slope_difference_2 = rest_p * stirling_slope_difference_2
            stirling_bregman_pair_3 = stirling_bregman_pair(
                exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
            )
            sum_4 = (
                product_2
                + stirling_bregman_pair_3
                - stirling_bregman_pair_2
                - rest_p_stirling_slope_difference_2
            )
            condition_8 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and condition
                and condition_n_top
                and log_alpha_ge_m
            )
            sum_A_scaled_R_first_R_second = over_A_scaled_R_first_plus_R_second + 1.0
            neg_piecewise_4 = -piecewise_4
            exp_bregman_3 = exp_bregman(0.0, neg_piecewise_4)
            product_3 = sum_A_scaled_R_first_R_second * exp_bregman_3
            product_4 = over_A_scaled_R_first_plus_R_second * piecewise_4
            sum_5 = B_exp_bregman_2 + product_log_alpha_log_alpha_p_2 + product_3 - product_4
            condition_A_B_log_alpha_m_n_top = (
                condition_A and condition_B and condition_n_top and log_alpha_ge_m
            )
            exp_bregman_4 = exp_bregman(0.0, piecewise)
            exp_bregman_4_minus_B_exp_bregman_2 = exp_bregman_4 - B_exp_bregman_2
            condition_A_B_2 = condition_A and condition_B
            stirling_bregman_pair_4 = stirling_bregman_pair(A, B, B_first_plus_B_second, piecewise)
            piecewise_5 = (
                exp_bregman_4_minus_B_exp_bregman_2 if condition_A_B_2 else stirling_bregman_pair_4
            )
            over_n_top_piecewise_5 = piecewise_5 / n_top
            sum_6 = piecewise_log_alpha_log_alpha_p - over_n_top_piecewise_5
            condition_A_B_log_alpha_m = condition_A and condition_B and log_alpha_ge_m
            term = (
                stirling_gap_difference_2
                if condition_7
                else (
                    sum_4
                    if condition_8
                    else (
                        sum_5
                        if condition_A_B_log_alpha_m_n_top
                        else (
                            sum_6 if condition_A_B_log_alpha_m else piecewise_log_alpha_log_alpha_p
                        )
                    )
                )
            )
            F_sum += term
        H_sum = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            neg_log_alpha_p = -log_alpha_p
            exp_neg_log_alpha_p = np.exp(neg_log_alpha_p)
            rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
            neg_log_alpha = -log_alpha
            exp_neg_log_alpha = np.exp(neg_log_alpha)
            rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
            log1p_rest_p_exp_neg_log_alpha_p = np.log1p(rest_p_exp_neg_log_alpha_p)
            log1p_rest_exp_neg_log_alpha = np.log1p(rest_exp_neg_log_alpha)
            exp_bregman_split_2 = exp_bregman_split(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
            log_B = np.log(B)
            log_A = np.log(A)
            log_A_minus_log_B = log_A - log_B
            abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
            log_alpha_ge_m = log_alpha >= m
            abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            neg_sum = -sum
            shift_step_lt_neg_sum = shift_step < neg_sum
            condition = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and abs_log_A_minus_log_B_gt_sum
                and condition_n_top
                and log_alpha_ge_m
                and shift_step_lt_neg_sum
            )
            inv_A = 1.0 / A
            B_inv_A = B * inv_A
            exp_log_alpha_p = np.exp(log_alpha_p)
            exp_log_alpha = np.exp(log_alpha)
            inv_A_exp_log_alpha = inv_A * exp_log_alpha
            log_inv_A_exp_log_alpha = np.log(inv_A_exp_log_alpha)
            inv_B = 1.0 / B
            exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
            log_exp_log_alpha_p_inv_B = np.log(exp_log_alpha_p_inv_B)
            abs_log_exp_log_alpha_p_inv_B = np.absolute(log_exp_log_alpha_p_inv_B)
            abs_log_inv_A_exp_log_alpha = np.absolute(log_inv_A_exp_log_alpha)
            sum_A_B_log_alpha_log_alpha_p = (
                abs_log_exp_log_alpha_p_inv_B + abs_log_inv_A_exp_log_alpha + 3.0
            )
            log_shifted = np.log(shifted)
            log_B_minus_log_shifted = log_B - log_shifted
            abs_log_B_minus_log_shifted = np.absolute(log_B_minus_log_shifted)
            R_first_plus_R_second = R_first + R_second
            over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
            B_first_plus_B_second = B_first + B_second
            difference_of_differences_2 = difference_of_differences(
                log_inv_A_exp_log_alpha, log_exp_log_alpha_p_inv_B, 0.0, 0.0, 0.0
            )
            condition_A_B_log_alpha_log_alpha_p = (
                abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
            )
            condition_2 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
            condition_3 = condition_2 and condition_A_B_log_alpha_log_alpha_p
            log1p_A_scaled_R_first_R_second = np.log1p(over_A_scaled_R_first_plus_R_second)
            condition_A = A < 8.673617379884035e-19
            condition_B = B < 8.673617379884035e-19
            abs_A_scaled_R_first_R_second = np.absolute(over_A_scaled_R_first_plus_R_second)
            condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
            condition_4 = condition_A and condition_A_scaled_R_first_R_second and condition_B
            B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
            log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
            abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
            twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
            A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
            log_B_inv_A = np.log(B_inv_A)
            condition_A_B = abs_log_A_minus_log_B < 700.0
            neg_log_A_minus_log_B = -log_A_minus_log_B
            piecewise = (
                log1p_A_scaled_R_first_R_second
                if condition_4
                else (
                    log1p_B_first_plus_B_second_inv_A
                    if A_ge_twice_abs_B_first_plus_B_second
                    else (log_B_inv_A if condition_A_B else neg_log_A_minus_log_B)
                )
            )
            neg_piecewise = -piecewise
            difference_of_differences_3 = difference_of_differences(
                log_alpha, log_alpha_p, 0.0, 0.0, neg_piecewise
            )
            condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
            log1p_shift_step = np.log1p(shift_step)
            condition_shift_step = shift_step >= -0.5
            inv_B_shifted = inv_B * shifted
            log_inv_B_shifted = np.log(inv_B_shifted)
            product_B = 1e-300 * B
            shifted_ge_product_B = shifted >= product_B
            neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
            piecewise_B_shift_step_shifted = (
                log1p_shift_step
                if condition_shift_step
                else (log_inv_B_shifted if shifted_ge_product_B else neg_log_B_minus_log_shifted)
            )
            difference_of_differences_4 = difference_of_differences(
                log_alpha, log_alpha_p, d_max, 0.0, piecewise_B_shift_step_shifted
            )
            piecewise_2 = (
                difference_of_differences_2
                if condition_3
                else (
                    difference_of_differences_3
                    if condition_A_B_shifted
                    else difference_of_differences_4
                )
            )
            exp_product_piecewise_2_log_alpha_p = exp_product(piecewise_2, log_alpha_p)
            exp_product_B_inv_A_log_alpha = exp_product(B_inv_A, log_alpha)
            sum_2 = (
                exp_product_B_inv_A_log_alpha
                - exp_log_alpha_p
                - exp_product_piecewise_2_log_alpha_p
            )
            condition_A_B_2 = B_inv_A < 1e308
            sum_A_B_log_alpha_log_alpha_p_2 = log_B + log_alpha + neg_log_alpha_p - log_A
            sum_A_B_log_alpha_log_alpha_p_2_gt_1 = sum_A_B_log_alpha_log_alpha_p_2 > 1.0
            condition_A_B_log_alpha_log_alpha_p_2 = (
                condition_A_B_2 and sum_A_B_log_alpha_log_alpha_p_2_gt_1
            )
            exp_bregman_split_3 = exp_bregman_split(log_alpha_p, log_alpha_p, piecewise_2, 0.0)
            piecewise_3 = exp_bregman_split_2 if condition else exp_bregman_split_3
            term = (
                exp_bregman_split_2
                if condition
                else (sum_2 if condition_A_B_log_alpha_log_alpha_p_2 else piecewise_3)
            )
            H_sum += term
        condition_A = A < 8.673617379884035e-19
        condition_B = B < 8.673617379884035e-19
        condition_A_B = condition_A and condition_B
        R_first_plus_R_second = R_first + R_second
        over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
        inv_A = 1.0 / A
        B_first_plus_B_second = B_first + B_second
        log_B = np.log(B)
        log_A = np.log(A)
        log_A_minus_log_B = log_A - log_B
        log1p_A_scaled_R_first_R_second = np.log1p(over_A_scaled_R_first_plus_R_second)
        abs_A_scaled_R_first_R_second = np.absolute(over_A_scaled_R_first_plus_R_second)
        condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
        condition = condition_A and condition_A_scaled_R_first_R_second and condition_B
        B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
        log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
        abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
        twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
        A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
        B_inv_A = B * inv_A
        log_B_inv_A = np.log(B_inv_A)
        abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
        condition_A_B_2 = abs_log_A_minus_log_B < 700.0
        neg_log_A_minus_log_B = -log_A_minus_log_B
        piecewise = (
            log1p_A_scaled_R_first_R_second
            if condition
            else (
                log1p_B_first_plus_B_second_inv_A
                if A_ge_twice_abs_B_first_plus_B_second
                else (log_B_inv_A if condition_A_B_2 else neg_log_A_minus_log_B)
            )
        )
        condition_size = size < 1.5
        n_gap_gt_half = n_gap > 0.5
        condition_A_B_n_gap = condition_A_B or n_gap_gt_half
        neg_piecewise = -piecewise
        exp_bregman_2 = exp_bregman(0.0, neg_piecewise)
        B_exp_bregman_2 = B * exp_bregman_2
        exp_bregman_3 = exp_bregman(0.0, piecewise)
        exp_bregman_3_minus_B_exp_bregman_2 = exp_bregman_3 - B_exp_bregman_2
        stirling_bregman_pair_2 = stirling_bregman_pair(A, B, B_first_plus_B_second, piecewise)
        piecewise_2 = (
            exp_bregman_3_minus_B_exp_bregman_2 if condition_A_B else stirling_bregman_pair_2
        )
        piecewise_3 = 0.0 if condition_A_B_n_gap else piecewise_2
        F_sum_plus_H_sum_minus_piecewise_3 = F_sum + H_sum - piecewise_3
        result = 0.0 if condition_size else F_sum_plus_H_sum_minus_piecewise_3
        value[row] = result


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _grad_rows(log_alpha_flat, log_alpha_p_flat, dlog_alpha, dlog_alpha_p, latent, first, last):
    """Rows first..last of flat C-ordered arrays: each statistic one pass over the row, in
    float64 (numpy's error model: a division by 0 gives inf or NaN, as in the numpy module,
    not ZeroDivisionError)."""
    for row in range(first, last):
        start = row * latent
        size = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = 1.0
            size += term
        A = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = np.exp(log_alpha)
            A += term
        B = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = np.exp(log_alpha_p)
            B += term
        B_first = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_product_log_alpha_log_alpha_p = exp_product(
                neg_log_alpha_minus_log_alpha_p, log_alpha
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            term = (
                exp_product_log_alpha_log_alpha_p if abs_log_alpha_minus_log_alpha_p_le_1 else 0.0
            )
            partial = B_first + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - B_first
                compensation += (B_first - (partial - from_term)) + (term - from_term)
            B_first = partial
        B_first += compensation
        B_second = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_minus_log_alpha_p)
            exp_product_log_alpha_log_alpha_p = exp_product(
                exp_bregman_log_alpha_log_alpha_p, log_alpha
            )
            product_error_log_alpha_log_alpha_p = product_error(
                neg_log_alpha_minus_log_alpha_p, log_alpha
            )
            sum_log_alpha_log_alpha_p = (
                exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            term = (
                sum_log_alpha_log_alpha_p
                if abs_log_alpha_minus_log_alpha_p_le_1
                else exp_difference_log_alpha_p_log_alpha
            )
            partial = B_second + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - B_second
                compensation += (B_second - (partial - from_term)) + (term - from_term)
            B_second = partial
        B_second += compensation
        A_scaled = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            exp_product_log_alpha = exp_product(4.149515568880993e180, log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            term = exp_product_log_alpha if condition_log_alpha else 3.599131035634557e162
            A_scaled += term
        R_first = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
            product_log_alpha = 4.149515568880993e180 * log_alpha
            sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
            exp_product_log_alpha_log_alpha_p = exp_product(sum_log_alpha_log_alpha_p, log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p = (
                abs_log_alpha_minus_log_alpha_p_le_1
                and condition_log_alpha
                and condition_log_alpha_p
            )
            term = exp_product_log_alpha_log_alpha_p if condition_log_alpha_log_alpha_p else 0.0
            partial = R_first + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_first
                compensation += (R_first - (partial - from_term)) + (term - from_term)
            R_first = partial
        R_first += compensation
        R_second = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_minus_log_alpha_p)
            product_log_alpha_log_alpha_p = (
                4.149515568880993e180 * exp_bregman_log_alpha_log_alpha_p
            )
            exp_product_log_alpha_log_alpha_p = exp_product(
                product_log_alpha_log_alpha_p, log_alpha
            )
            product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
            product_log_alpha = 4.149515568880993e180 * log_alpha
            sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
            product_error_log_alpha_log_alpha_p = product_error(
                sum_log_alpha_log_alpha_p, log_alpha
            )
            sum_log_alpha_log_alpha_p_2 = (
                exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p = (
                abs_log_alpha_minus_log_alpha_p_le_1
                and condition_log_alpha
                and condition_log_alpha_p
            )
            exp_product_log_alpha = exp_product(4.149515568880993e180, log_alpha)
            exp_product_log_alpha_p = exp_product(4.149515568880993e180, log_alpha_p)
            sum_log_alpha_log_alpha_p_3 = exp_product_log_alpha_p - exp_product_log_alpha
            condition_log_alpha_log_alpha_p_2 = condition_log_alpha and condition_log_alpha_p
            term = (
                sum_log_alpha_log_alpha_p_2
                if condition_log_alpha_log_alpha_p
                else (sum_log_alpha_log_alpha_p_3 if condition_log_alpha_log_alpha_p_2 else 0.0)
            )
            partial = R_second + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_second
                compensation += (R_second - (partial - from_term)) + (term - from_term)
            R_second = partial
        R_second += compensation
        m = -np.inf
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = log_alpha
            if term > m or term != term:
                m = term
        n_top = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            term = 1.0 if log_alpha_ge_m else 0.0
            n_top += term
        rest = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_log_alpha = np.exp(log_alpha)
            term = 0.0 if log_alpha_ge_m else exp_log_alpha
            rest += term
        rest_p = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_log_alpha_p = np.exp(log_alpha_p)
            term = 0.0 if log_alpha_ge_m else exp_log_alpha_p
            rest_p += term
        d_max = -np.inf
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = log_alpha - log_alpha_p
            if term > d_max or term != term:
                d_max = term
        shifted = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = exp_of_difference(1.0, log_alpha, d_max)
            shifted += term
        shift_step = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = exp_difference_ratio(log_alpha_p, log_alpha, 0.0, d_max, B)
            shift_step += term
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            condition_size = size < 1.5
            neg_log_alpha_p = -log_alpha_p
            log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
            neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
            expm1_log_alpha_log_alpha_p = np.expm1(neg_log_alpha_plus_neg_log_alpha_p)
            stirling_curvature_log_alpha = stirling_curvature(log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            abs_log_alpha_plus_neg_log_alpha_p = np.absolute(log_alpha_plus_neg_log_alpha_p)
            condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p_2 = (
                condition_log_alpha and condition_log_alpha_log_alpha_p and condition_log_alpha_p
            )
            stirling_curvature_at_A = stirling_curvature_at(A)
            inv_A_scaled = 1.0 / A_scaled
            R_first_plus_R_second = R_first + R_second
            R_first_plus_R_second_inv_A_scaled = R_first_plus_R_second * inv_A_scaled
            condition_A = A < 8.673617379884035e-19
            condition_B = B < 8.673617379884035e-19
            condition_A_B = condition_A and condition_B
            B_first_plus_B_second = B_first + B_second
            inv_A = 1.0 / A
            exp_log_alpha_inv_A = exp_log_alpha * inv_A
            exp_neg_log_alpha_p = np.exp(neg_log_alpha_p)
            rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
            log1p_rest_p_exp_neg_log_alpha_p = np.log1p(rest_p_exp_neg_log_alpha_p)
            neg_log_alpha = -log_alpha
            exp_neg_log_alpha = np.exp(neg_log_alpha)
            rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
            log1p_rest_exp_neg_log_alpha = np.log1p(rest_exp_neg_log_alpha)
            exp_difference_split_2 = exp_difference_split(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
            log_B = np.log(B)
            log_A = np.log(A)
            log_A_minus_log_B = log_A - log_B
            abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
            log_alpha_ge_m = log_alpha >= m
            abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            neg_sum = -sum
            shift_step_lt_neg_sum = shift_step < neg_sum
            condition = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and abs_log_A_minus_log_B_gt_sum
                and condition_n_top
                and log_alpha_ge_m
                and shift_step_lt_neg_sum
            )
            B_inv_A = B * inv_A
            log_exp_log_alpha_inv_A = np.log(exp_log_alpha_inv_A)
            inv_B = 1.0 / B
            exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
            log_exp_log_alpha_p_inv_B = np.log(exp_log_alpha_p_inv_B)
            abs_log_exp_log_alpha_inv_A = np.absolute(log_exp_log_alpha_inv_A)
            abs_log_exp_log_alpha_p_inv_B = np.absolute(log_exp_log_alpha_p_inv_B)
            sum_A_B_log_alpha_log_alpha_p = (
                abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
            )
            log_shifted = np.log(shifted)
            log_B_minus_log_shifted = log_B - log_shifted
            abs_log_B_minus_log_shifted = np.absolute(log_B_minus_log_shifted)
            log1p_A_scaled_R_first_R_second = np.log1p(R_first_plus_R_second_inv_A_scaled)
            abs_A_scaled_R_first_R_second = np.absolute(R_first_plus_R_second_inv_A_scaled)
            condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
            condition_2 = condition_A and condition_A_scaled_R_first_R_second and condition_B
            B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
            log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
            abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
            twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
            A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
            log_B_inv_A = np.log(B_inv_A)
            condition_A_B_2 = abs_log_A_minus_log_B < 700.0
            neg_log_A_minus_log_B = -log_A_minus_log_B
            piecewise = (
                log1p_A_scaled_R_first_R_second
                if condition_2
                else (
                    log1p_B_first_plus_B_second_inv_A
                    if A_ge_twice_abs_B_first_plus_B_second
                    else (log_B_inv_A if condition_A_B_2 else neg_log_A_minus_log_B)
                )
            )
            difference_of_differences_2 = difference_of_differences(
                log_exp_log_alpha_inv_A, log_exp_log_alpha_p_inv_B, 0.0, 0.0, 0.0
            )
            condition_A_B_log_alpha_log_alpha_p = (
                abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
            )
            condition_3 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
            condition_4 = condition_3 and condition_A_B_log_alpha_log_alpha_p
            neg_piecewise = -piecewise
            difference_of_differences_3 = difference_of_differences(
                log_alpha, log_alpha_p, 0.0, 0.0, neg_piecewise
            )
            condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
            log1p_shift_step = np.log1p(shift_step)
            condition_shift_step = shift_step >= -0.5
            inv_B_shifted = inv_B * shifted
            log_inv_B_shifted = np.log(inv_B_shifted)
            product_B = 1e-300 * B
            shifted_ge_product_B = shifted >= product_B
            neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
            piecewise_B_shift_step_shifted = (
                log1p_shift_step
                if condition_shift_step
                else (log_inv_B_shifted if shifted_ge_product_B else neg_log_B_minus_log_shifted)
            )
            difference_of_differences_4 = difference_of_differences(
                log_alpha, log_alpha_p, d_max, 0.0, piecewise_B_shift_step_shifted
            )
            piecewise_2 = (
                difference_of_differences_2
                if condition_4
                else (
                    difference_of_differences_3
                    if condition_A_B_shifted
                    else difference_of_differences_4
                )
            )
            product_log_alpha_log_alpha_p = (
                expm1_log_alpha_log_alpha_p * stirling_curvature_log_alpha
            )
            exp_product_log_alpha_log_alpha_p = exp_product(
                product_log_alpha_log_alpha_p, log_alpha
            )
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            product_log_alpha_log_alpha_p_2 = (
                stirling_curvature_log_alpha * exp_difference_log_alpha_p_log_alpha
            )
            piecewise_log_alpha_log_alpha_p = (
                exp_product_log_alpha_log_alpha_p
                if condition_log_alpha_log_alpha_p_2
                else product_log_alpha_log_alpha_p_2
            )
            product_A_A_scaled_R_first_R_second = (
                R_first_plus_R_second_inv_A_scaled * stirling_curvature_at_A
            )
            exp_product_2 = exp_product(product_A_A_scaled_R_first_R_second, log_alpha)
            product_A_B_first_B_second_log_alpha = (
                B_first_plus_B_second * exp_log_alpha_inv_A * stirling_curvature_at_A
            )
            piecewise_3 = exp_product_2 if condition_A_B else product_A_B_first_B_second_log_alpha
            exp_product_B_inv_A_log_alpha = exp_product(B_inv_A, log_alpha)
            sum_A_B_log_alpha_log_alpha_p_2 = exp_product_B_inv_A_log_alpha - exp_log_alpha_p
            condition_A_B_3 = B_inv_A < 1e308
            sum_A_B_log_alpha_log_alpha_p_3 = log_B + log_alpha_plus_neg_log_alpha_p - log_A
            sum_A_B_log_alpha_log_alpha_p_3_gt_1 = sum_A_B_log_alpha_log_alpha_p_3 > 1.0
            condition_A_B_log_alpha_log_alpha_p_2 = (
                condition_A_B_3 and sum_A_B_log_alpha_log_alpha_p_3_gt_1
            )
            exp_difference_split_3 = exp_difference_split(
                log_alpha_p, log_alpha_p, piecewise_2, 0.0
            )
            piecewise_4 = exp_difference_split_2 if condition else exp_difference_split_3
            piecewise_5 = (
                exp_difference_split_2
                if condition
                else (
                    sum_A_B_log_alpha_log_alpha_p_2
                    if condition_A_B_log_alpha_log_alpha_p_2
                    else piecewise_4
                )
            )
            sum_2 = piecewise_3 + piecewise_5 - piecewise_log_alpha_log_alpha_p
            dlog_alpha_element = 0.0 if condition_size else sum_2
            product_A_scaled_B_R_first_R_second = R_first_plus_R_second * inv_A_scaled * inv_B
            sum_3 = product_A_scaled_B_R_first_R_second - piecewise
            stirling_slope_difference_pair_2 = stirling_slope_difference_pair(
                A, B, B_first_plus_B_second, piecewise
            )
            piecewise_6 = sum_3 if condition_A_B else stirling_slope_difference_pair_2
            difference_sum_2 = difference_sum(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            difference_sum_3 = difference_sum(log_alpha_p, log_alpha_p, piecewise_2, 0.0)
            piecewise_7 = difference_sum_2 if condition else difference_sum_3
            exp_product_log_alpha_log_alpha_p_2 = exp_product(
                expm1_log_alpha_log_alpha_p, neg_log_alpha_p
            )
            sum_log_alpha_log_alpha_p = (
                log_alpha_plus_neg_log_alpha_p + exp_product_log_alpha_log_alpha_p_2
            )
            stirling_slope_difference_2 = stirling_slope_difference(log_alpha, log_alpha_p)
            piecewise_log_alpha_log_alpha_p_2 = (
                sum_log_alpha_log_alpha_p
                if condition_log_alpha_log_alpha_p_2
                else stirling_slope_difference_2
            )
            sum_4 = piecewise_log_alpha_log_alpha_p_2 - piecewise_6 - piecewise_7
            exp_product_sum_4_log_alpha_p = exp_product(sum_4, log_alpha_p)
            dlog_alpha_p_element = 0.0 if condition_size else exp_product_sum_4_log_alpha_p
            dlog_alpha[start + j] = dlog_alpha_element
            dlog_alpha_p[start + j] = dlog_alpha_p_element


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _value_and_grad_rows(
    log_alpha_flat, log_alpha_p_flat, value, dlog_alpha, dlog_alpha_p, latent, first, last
):
    """Rows first..last of flat C-ordered arrays: each statistic one pass over the row, in
    float64 (numpy's error model: a division by 0 gives inf or NaN, as in the numpy module,
    not ZeroDivisionError)."""
    for row in range(first, last):
        start = row * latent
        size = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = 1.0
            size += term
        A = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = np.exp(log_alpha)
            A += term
        B = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = np.exp(log_alpha_p)
            B += term
        B_first = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_product_log_alpha_log_alpha_p = exp_product(
                neg_log_alpha_minus_log_alpha_p, log_alpha
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            term = (
                exp_product_log_alpha_log_alpha_p if abs_log_alpha_minus_log_alpha_p_le_1 else 0.0
            )
            partial = B_first + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - B_first
                compensation += (B_first - (partial - from_term)) + (term - from_term)
            B_first = partial
        B_first += compensation
        B_second = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_minus_log_alpha_p)
            exp_product_log_alpha_log_alpha_p = exp_product(
                exp_bregman_log_alpha_log_alpha_p, log_alpha
            )
            product_error_log_alpha_log_alpha_p = product_error(
                neg_log_alpha_minus_log_alpha_p, log_alpha
            )
            sum_log_alpha_log_alpha_p = (
                exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            term = (
                sum_log_alpha_log_alpha_p
                if abs_log_alpha_minus_log_alpha_p_le_1
                else exp_difference_log_alpha_p_log_alpha
            )
            partial = B_second + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - B_second
                compensation += (B_second - (partial - from_term)) + (term - from_term)
            B_second = partial
        B_second += compensation
        A_scaled = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            exp_product_log_alpha = exp_product(4.149515568880993e180, log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            term = exp_product_log_alpha if condition_log_alpha else 3.599131035634557e162
            A_scaled += term
        R_first = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
            product_log_alpha = 4.149515568880993e180 * log_alpha
            sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
            exp_product_log_alpha_log_alpha_p = exp_product(sum_log_alpha_log_alpha_p, log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p = (
                abs_log_alpha_minus_log_alpha_p_le_1
                and condition_log_alpha
                and condition_log_alpha_p
            )
            term = exp_product_log_alpha_log_alpha_p if condition_log_alpha_log_alpha_p else 0.0
            partial = R_first + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_first
                compensation += (R_first - (partial - from_term)) + (term - from_term)
            R_first = partial
        R_first += compensation
        R_second = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
            exp_log_alpha = np.exp(log_alpha)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_minus_log_alpha_p)
            product_log_alpha_log_alpha_p = (
                4.149515568880993e180 * exp_bregman_log_alpha_log_alpha_p
            )
            exp_product_log_alpha_log_alpha_p = exp_product(
                product_log_alpha_log_alpha_p, log_alpha
            )
            product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
            product_log_alpha = 4.149515568880993e180 * log_alpha
            sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
            product_error_log_alpha_log_alpha_p = product_error(
                sum_log_alpha_log_alpha_p, log_alpha
            )
            sum_log_alpha_log_alpha_p_2 = (
                exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
            )
            abs_log_alpha_minus_log_alpha_p = np.absolute(log_alpha_minus_log_alpha_p)
            abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p = (
                abs_log_alpha_minus_log_alpha_p_le_1
                and condition_log_alpha
                and condition_log_alpha_p
            )
            exp_product_log_alpha = exp_product(4.149515568880993e180, log_alpha)
            exp_product_log_alpha_p = exp_product(4.149515568880993e180, log_alpha_p)
            sum_log_alpha_log_alpha_p_3 = exp_product_log_alpha_p - exp_product_log_alpha
            condition_log_alpha_log_alpha_p_2 = condition_log_alpha and condition_log_alpha_p
            term = (
                sum_log_alpha_log_alpha_p_2
                if condition_log_alpha_log_alpha_p
                else (sum_log_alpha_log_alpha_p_3 if condition_log_alpha_log_alpha_p_2 else 0.0)
            )
            partial = R_second + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_second
                compensation += (R_second - (partial - from_term)) + (term - from_term)
            R_second = partial
        R_second += compensation
        m = -np.inf
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = log_alpha
            if term > m or term != term:
                m = term
        n_top = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            term = 1.0 if log_alpha_ge_m else 0.0
            n_top += term
        rest = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_log_alpha = np.exp(log_alpha)
            term = 0.0 if log_alpha_ge_m else exp_log_alpha
            rest += term
        rest_p = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_log_alpha_p = np.exp(log_alpha_p)
            term = 0.0 if log_alpha_ge_m else exp_log_alpha_p
            rest_p += term
        R_rest = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_difference_ratio_2 = exp_difference_ratio(log_alpha, log_alpha_p, 0.0, 0.0, A)
            term = 0.0 if log_alpha_ge_m else exp_difference_ratio_2
            partial = R_rest + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - R_rest
                compensation += (R_rest - (partial - from_term)) + (term - from_term)
            R_rest = partial
        R_rest += compensation
        rest_change = 0.0
        compensation = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            term = 0.0 if log_alpha_ge_m else exp_difference_log_alpha_p_log_alpha
            partial = rest_change + term
            if abs(partial) < np.inf:  # two-sum: the addition's rounding error, kept
                from_term = partial - rest_change
                compensation += (rest_change - (partial - from_term)) + (term - from_term)
            rest_change = partial
        rest_change += compensation
        n_gap = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            log_alpha_ge_m = log_alpha >= m
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            rest_plus_rest_p = rest + rest_p
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            abs_log_alpha_log_alpha_p = np.absolute(exp_difference_log_alpha_p_log_alpha)
            condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
            condition_2 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and condition
                and condition_n_top
                and log_alpha_ge_m
            )
            term = 1.0 if condition_2 else 0.0
            n_gap += term
        d_max = -np.inf
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = log_alpha - log_alpha_p
            if term > d_max or term != term:
                d_max = term
        shifted = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = exp_of_difference(1.0, log_alpha, d_max)
            shifted += term
        shift_step = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            term = exp_difference_ratio(log_alpha_p, log_alpha, 0.0, d_max, B)
            shift_step += term
        F_sum = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            exp_log_alpha = np.exp(log_alpha)
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            log_alpha_ge_m = log_alpha >= m
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            abs_log_alpha_log_alpha_p = np.absolute(exp_difference_log_alpha_p_log_alpha)
            rest_plus_rest_p = rest + rest_p
            condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
            product_log_alpha_log_alpha_p = 9.0 * abs_log_alpha_log_alpha_p
            exp_log_alpha_p = np.exp(log_alpha_p)
            neg_log_alpha = -log_alpha
            exp_neg_log_alpha = np.exp(neg_log_alpha)
            rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
            log1p_rest_exp_neg_log_alpha = np.log1p(rest_exp_neg_log_alpha)
            B_first_plus_B_second = B_first + B_second
            neg_log_alpha_p = -log_alpha_p
            exp_neg_log_alpha_p = np.exp(neg_log_alpha_p)
            rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
            log1p_rest_p_exp_neg_log_alpha_p = np.log1p(rest_p_exp_neg_log_alpha_p)
            exp_bregman_log_alpha_p_log_alpha = exp_bregman(log_alpha_p, log_alpha)
            product_log_alpha_log_alpha_p_2 = -exp_bregman_log_alpha_p_log_alpha
            R_first_plus_R_second = R_first + R_second
            over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
            condition_A = A < 8.673617379884035e-19
            condition_B = B < 8.673617379884035e-19
            inv_A = 1.0 / A
            log_B = np.log(B)
            log_A = np.log(A)
            log_A_minus_log_B = log_A - log_B
            abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
            log1p_A_scaled_R_first_R_second = np.log1p(over_A_scaled_R_first_plus_R_second)
            abs_A_scaled_R_first_R_second = np.absolute(over_A_scaled_R_first_plus_R_second)
            condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
            condition_2 = condition_A and condition_A_scaled_R_first_R_second and condition_B
            B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
            log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
            abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
            twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
            A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
            B_inv_A = B * inv_A
            log_B_inv_A = np.log(B_inv_A)
            condition_A_B = abs_log_A_minus_log_B < 700.0
            neg_log_A_minus_log_B = -log_A_minus_log_B
            piecewise = (
                log1p_A_scaled_R_first_R_second
                if condition_2
                else (
                    log1p_B_first_plus_B_second_inv_A
                    if A_ge_twice_abs_B_first_plus_B_second
                    else (log_B_inv_A if condition_A_B else neg_log_A_minus_log_B)
                )
            )
            neg_piecewise = -piecewise
            exp_bregman_2 = exp_bregman(0.0, neg_piecewise)
            B_exp_bregman_2 = B * exp_bregman_2
            log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
            neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
            expm1_log_alpha_log_alpha_p = np.expm1(neg_log_alpha_plus_neg_log_alpha_p)
            inv_A_rest = inv_A * rest
            abs_log_alpha_plus_neg_log_alpha_p = np.absolute(log_alpha_plus_neg_log_alpha_p)
            sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
            exp_log_alpha_inv_A = exp_log_alpha * inv_A
            log_exp_log_alpha_inv_A = np.log(exp_log_alpha_inv_A)
            inv_B = 1.0 / B
            exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
            log_exp_log_alpha_p_inv_B = np.log(exp_log_alpha_p_inv_B)
            abs_log_exp_log_alpha_inv_A = np.absolute(log_exp_log_alpha_inv_A)
            abs_log_exp_log_alpha_p_inv_B = np.absolute(log_exp_log_alpha_p_inv_B)
            sum_A_B_log_alpha_log_alpha_p = (
                abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
            )
            log_shifted = np.log(shifted)
            log_B_minus_log_shifted = log_B - log_shifted
            abs_log_B_minus_log_shifted = np.absolute(log_B_minus_log_shifted)
            product_A_log_alpha_log_alpha_p_rest = expm1_log_alpha_log_alpha_p * inv_A_rest
            sum_2 = R_rest - product_A_log_alpha_log_alpha_p_rest
            exp_log_alpha_plus_neg_log_alpha_p = np.exp(log_alpha_plus_neg_log_alpha_p)
            product = sum_2 * exp_log_alpha_plus_neg_log_alpha_p
            log1p_product = np.log1p(product)
            abs_expm1_log_alpha_log_alpha_p = np.absolute(expm1_log_alpha_log_alpha_p)
            product_A_log_alpha_log_alpha_p_rest_2 = inv_A_rest * abs_expm1_log_alpha_log_alpha_p
            abs_R_rest = np.absolute(R_rest)
            sum_3 = product_A_log_alpha_log_alpha_p_rest_2 + abs_R_rest
            condition_3 = abs_log_alpha_plus_neg_log_alpha_p > sum_3
            difference_sum_2 = difference_sum(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
            neg_sum = -sum
            shift_step_lt_neg_sum = shift_step < neg_sum
            condition_4 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and abs_log_A_minus_log_B_gt_sum
                and condition_n_top
                and log_alpha_ge_m
                and shift_step_lt_neg_sum
            )
            difference_of_differences_2 = difference_of_differences(
                log_exp_log_alpha_inv_A, log_exp_log_alpha_p_inv_B, 0.0, 0.0, 0.0
            )
            condition_A_B_log_alpha_log_alpha_p = (
                abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
            )
            condition_5 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
            condition_6 = condition_5 and condition_A_B_log_alpha_log_alpha_p
            difference_of_differences_3 = difference_of_differences(
                log_alpha, log_alpha_p, 0.0, 0.0, neg_piecewise
            )
            condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
            log1p_shift_step = np.log1p(shift_step)
            condition_shift_step = shift_step >= -0.5
            inv_B_shifted = inv_B * shifted
            log_inv_B_shifted = np.log(inv_B_shifted)
            product_B = 1e-300 * B
            shifted_ge_product_B = shifted >= product_B
            neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
            piecewise_B_shift_step_shifted = (
                log1p_shift_step
                if condition_shift_step
                else (log_inv_B_shifted if shifted_ge_product_B else neg_log_B_minus_log_shifted)
            )
            difference_of_differences_4 = difference_of_differences(
                log_alpha, log_alpha_p, d_max, 0.0, piecewise_B_shift_step_shifted
            )
            piecewise_2 = (
                difference_of_differences_2
                if condition_6
                else (
                    difference_of_differences_3
                    if condition_A_B_shifted
                    else difference_of_differences_4
                )
            )
            difference_sum_3 = difference_sum(log_alpha_p, log_alpha_p, piecewise_2, 0.0)
            piecewise_3 = difference_sum_2 if condition_4 else difference_sum_3
            piecewise_4 = log1p_product if condition_3 else piecewise_3
            exp_bregman_log_alpha_log_alpha_p = exp_bregman(0.0, neg_log_alpha_plus_neg_log_alpha_p)
            sum_log_alpha_log_alpha_p = (
                product_log_alpha_log_alpha_p_2 + exp_bregman_log_alpha_log_alpha_p
            )
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p_2 = (
                condition_log_alpha and condition_log_alpha_log_alpha_p and condition_log_alpha_p
            )
            stirling_bregman_2 = stirling_bregman(log_alpha, log_alpha_p)
            piecewise_log_alpha_log_alpha_p = (
                sum_log_alpha_log_alpha_p
                if condition_log_alpha_log_alpha_p_2
                else stirling_bregman_2
            )
            stirling_gap_difference_2 = stirling_gap_difference(
                exp_log_alpha, rest, exp_difference_log_alpha_p_log_alpha, rest_change
            )
            condition_log_alpha_log_alpha_p_3 = exp_log_alpha >= product_log_alpha_log_alpha_p
            condition_log_alpha_log_alpha_p_4 = exp_log_alpha_p >= product_log_alpha_log_alpha_p
            condition_7 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and condition
                and condition_log_alpha_log_alpha_p_3
                and condition_log_alpha_log_alpha_p_4
                and condition_n_top
                and log_alpha_ge_m
            )
            stirling_bregman_pair_2 = stirling_bregman_pair(
                exp_log_alpha_p, B, rest_p, log1p_rest_p_exp_neg_log_alpha_p
            )
            stirling_slope_difference_pair_2 = stirling_slope_difference_pair(
                exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
            )
            product_2 = B_first_plus_B_second * stirling_slope_difference_pair_2
            stirling_slope_difference_2 = stirling_slope_difference(log_alpha, log_alpha_p)
            rest_p_stirling_slope_difference_2 = rest_p * stirling_slope_difference_2
            stirling_bregman_pair_3 = stirling_bregman_pair(
                exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
            )
            sum_4 = (
                product_2
                + stirling_bregman_pair_3
                - stirling_bregman_pair_2
                - rest_p_stirling_slope_difference_2
            )
            condition_8 = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and condition
                and condition_n_top
                and log_alpha_ge_m
            )
            sum_A_scaled_R_first_R_second = over_A_scaled_R_first_plus_R_second + 1.0
            neg_piecewise_4 = -piecewise_4
            exp_bregman_3 = exp_bregman(0.0, neg_piecewise_4)
            product_3 = sum_A_scaled_R_first_R_second * exp_bregman_3
            product_4 = over_A_scaled_R_first_plus_R_second * piecewise_4
            sum_5 = B_exp_bregman_2 + product_log_alpha_log_alpha_p_2 + product_3 - product_4
            condition_A_B_log_alpha_m_n_top = (
                condition_A and condition_B and condition_n_top and log_alpha_ge_m
            )
            exp_bregman_4 = exp_bregman(0.0, piecewise)
            exp_bregman_4_minus_B_exp_bregman_2 = exp_bregman_4 - B_exp_bregman_2
            condition_A_B_2 = condition_A and condition_B
            stirling_bregman_pair_4 = stirling_bregman_pair(A, B, B_first_plus_B_second, piecewise)
            piecewise_5 = (
                exp_bregman_4_minus_B_exp_bregman_2 if condition_A_B_2 else stirling_bregman_pair_4
            )
            over_n_top_piecewise_5 = piecewise_5 / n_top
            sum_6 = piecewise_log_alpha_log_alpha_p - over_n_top_piecewise_5
            condition_A_B_log_alpha_m = condition_A and condition_B and log_alpha_ge_m
            term = (
                stirling_gap_difference_2
                if condition_7
                else (
                    sum_4
                    if condition_8
                    else (
                        sum_5
                        if condition_A_B_log_alpha_m_n_top
                        else (
                            sum_6 if condition_A_B_log_alpha_m else piecewise_log_alpha_log_alpha_p
                        )
                    )
                )
            )
            F_sum += term
        H_sum = 0.0
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            neg_log_alpha_p = -log_alpha_p
            exp_neg_log_alpha_p = np.exp(neg_log_alpha_p)
            rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
            neg_log_alpha = -log_alpha
            exp_neg_log_alpha = np.exp(neg_log_alpha)
            rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
            log1p_rest_p_exp_neg_log_alpha_p = np.log1p(rest_p_exp_neg_log_alpha_p)
            log1p_rest_exp_neg_log_alpha = np.log1p(rest_exp_neg_log_alpha)
            exp_bregman_split_2 = exp_bregman_split(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
            log_B = np.log(B)
            log_A = np.log(A)
            log_A_minus_log_B = log_A - log_B
            abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
            log_alpha_ge_m = log_alpha >= m
            abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            neg_sum = -sum
            shift_step_lt_neg_sum = shift_step < neg_sum
            condition = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and abs_log_A_minus_log_B_gt_sum
                and condition_n_top
                and log_alpha_ge_m
                and shift_step_lt_neg_sum
            )
            inv_A = 1.0 / A
            B_inv_A = B * inv_A
            exp_log_alpha_p = np.exp(log_alpha_p)
            exp_log_alpha = np.exp(log_alpha)
            inv_A_exp_log_alpha = inv_A * exp_log_alpha
            log_inv_A_exp_log_alpha = np.log(inv_A_exp_log_alpha)
            inv_B = 1.0 / B
            exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
            log_exp_log_alpha_p_inv_B = np.log(exp_log_alpha_p_inv_B)
            abs_log_exp_log_alpha_p_inv_B = np.absolute(log_exp_log_alpha_p_inv_B)
            abs_log_inv_A_exp_log_alpha = np.absolute(log_inv_A_exp_log_alpha)
            sum_A_B_log_alpha_log_alpha_p = (
                abs_log_exp_log_alpha_p_inv_B + abs_log_inv_A_exp_log_alpha + 3.0
            )
            log_shifted = np.log(shifted)
            log_B_minus_log_shifted = log_B - log_shifted
            abs_log_B_minus_log_shifted = np.absolute(log_B_minus_log_shifted)
            R_first_plus_R_second = R_first + R_second
            over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
            B_first_plus_B_second = B_first + B_second
            difference_of_differences_2 = difference_of_differences(
                log_inv_A_exp_log_alpha, log_exp_log_alpha_p_inv_B, 0.0, 0.0, 0.0
            )
            condition_A_B_log_alpha_log_alpha_p = (
                abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
            )
            condition_2 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
            condition_3 = condition_2 and condition_A_B_log_alpha_log_alpha_p
            log1p_A_scaled_R_first_R_second = np.log1p(over_A_scaled_R_first_plus_R_second)
            condition_A = A < 8.673617379884035e-19
            condition_B = B < 8.673617379884035e-19
            abs_A_scaled_R_first_R_second = np.absolute(over_A_scaled_R_first_plus_R_second)
            condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
            condition_4 = condition_A and condition_A_scaled_R_first_R_second and condition_B
            B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
            log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
            abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
            twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
            A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
            log_B_inv_A = np.log(B_inv_A)
            condition_A_B = abs_log_A_minus_log_B < 700.0
            neg_log_A_minus_log_B = -log_A_minus_log_B
            piecewise = (
                log1p_A_scaled_R_first_R_second
                if condition_4
                else (
                    log1p_B_first_plus_B_second_inv_A
                    if A_ge_twice_abs_B_first_plus_B_second
                    else (log_B_inv_A if condition_A_B else neg_log_A_minus_log_B)
                )
            )
            neg_piecewise = -piecewise
            difference_of_differences_3 = difference_of_differences(
                log_alpha, log_alpha_p, 0.0, 0.0, neg_piecewise
            )
            condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
            log1p_shift_step = np.log1p(shift_step)
            condition_shift_step = shift_step >= -0.5
            inv_B_shifted = inv_B * shifted
            log_inv_B_shifted = np.log(inv_B_shifted)
            product_B = 1e-300 * B
            shifted_ge_product_B = shifted >= product_B
            neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
            piecewise_B_shift_step_shifted = (
                log1p_shift_step
                if condition_shift_step
                else (log_inv_B_shifted if shifted_ge_product_B else neg_log_B_minus_log_shifted)
            )
            difference_of_differences_4 = difference_of_differences(
                log_alpha, log_alpha_p, d_max, 0.0, piecewise_B_shift_step_shifted
            )
            piecewise_2 = (
                difference_of_differences_2
                if condition_3
                else (
                    difference_of_differences_3
                    if condition_A_B_shifted
                    else difference_of_differences_4
                )
            )
            exp_product_piecewise_2_log_alpha_p = exp_product(piecewise_2, log_alpha_p)
            exp_product_B_inv_A_log_alpha = exp_product(B_inv_A, log_alpha)
            sum_2 = (
                exp_product_B_inv_A_log_alpha
                - exp_log_alpha_p
                - exp_product_piecewise_2_log_alpha_p
            )
            condition_A_B_2 = B_inv_A < 1e308
            sum_A_B_log_alpha_log_alpha_p_2 = log_B + log_alpha + neg_log_alpha_p - log_A
            sum_A_B_log_alpha_log_alpha_p_2_gt_1 = sum_A_B_log_alpha_log_alpha_p_2 > 1.0
            condition_A_B_log_alpha_log_alpha_p_2 = (
                condition_A_B_2 and sum_A_B_log_alpha_log_alpha_p_2_gt_1
            )
            exp_bregman_split_3 = exp_bregman_split(log_alpha_p, log_alpha_p, piecewise_2, 0.0)
            piecewise_3 = exp_bregman_split_2 if condition else exp_bregman_split_3
            term = (
                exp_bregman_split_2
                if condition
                else (sum_2 if condition_A_B_log_alpha_log_alpha_p_2 else piecewise_3)
            )
            H_sum += term
        condition_A = A < 8.673617379884035e-19
        condition_B = B < 8.673617379884035e-19
        condition_A_B = condition_A and condition_B
        R_first_plus_R_second = R_first + R_second
        over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
        inv_A = 1.0 / A
        B_first_plus_B_second = B_first + B_second
        log_B = np.log(B)
        log_A = np.log(A)
        log_A_minus_log_B = log_A - log_B
        log1p_A_scaled_R_first_R_second = np.log1p(over_A_scaled_R_first_plus_R_second)
        abs_A_scaled_R_first_R_second = np.absolute(over_A_scaled_R_first_plus_R_second)
        condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
        condition = condition_A and condition_A_scaled_R_first_R_second and condition_B
        B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
        log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
        abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
        twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
        A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
        B_inv_A = B * inv_A
        log_B_inv_A = np.log(B_inv_A)
        abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
        condition_A_B_2 = abs_log_A_minus_log_B < 700.0
        neg_log_A_minus_log_B = -log_A_minus_log_B
        piecewise = (
            log1p_A_scaled_R_first_R_second
            if condition
            else (
                log1p_B_first_plus_B_second_inv_A
                if A_ge_twice_abs_B_first_plus_B_second
                else (log_B_inv_A if condition_A_B_2 else neg_log_A_minus_log_B)
            )
        )
        condition_size = size < 1.5
        n_gap_gt_half = n_gap > 0.5
        condition_A_B_n_gap = condition_A_B or n_gap_gt_half
        neg_piecewise = -piecewise
        exp_bregman_2 = exp_bregman(0.0, neg_piecewise)
        B_exp_bregman_2 = B * exp_bregman_2
        exp_bregman_3 = exp_bregman(0.0, piecewise)
        exp_bregman_3_minus_B_exp_bregman_2 = exp_bregman_3 - B_exp_bregman_2
        stirling_bregman_pair_2 = stirling_bregman_pair(A, B, B_first_plus_B_second, piecewise)
        piecewise_2 = (
            exp_bregman_3_minus_B_exp_bregman_2 if condition_A_B else stirling_bregman_pair_2
        )
        piecewise_3 = 0.0 if condition_A_B_n_gap else piecewise_2
        F_sum_plus_H_sum_minus_piecewise_3 = F_sum + H_sum - piecewise_3
        result = 0.0 if condition_size else F_sum_plus_H_sum_minus_piecewise_3
        value[row] = result
        for j in range(latent):
            log_alpha = np.float64(log_alpha_flat[start + j])
            log_alpha_p = np.float64(log_alpha_p_flat[start + j])
            condition_size = size < 1.5
            neg_log_alpha_p = -log_alpha_p
            log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
            neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
            expm1_log_alpha_log_alpha_p = np.expm1(neg_log_alpha_plus_neg_log_alpha_p)
            stirling_curvature_log_alpha = stirling_curvature(log_alpha)
            exp_log_alpha = np.exp(log_alpha)
            exp_log_alpha_p = np.exp(log_alpha_p)
            condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
            condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
            abs_log_alpha_plus_neg_log_alpha_p = np.absolute(log_alpha_plus_neg_log_alpha_p)
            condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
            condition_log_alpha_log_alpha_p_2 = (
                condition_log_alpha and condition_log_alpha_log_alpha_p and condition_log_alpha_p
            )
            stirling_curvature_at_A = stirling_curvature_at(A)
            inv_A_scaled = 1.0 / A_scaled
            R_first_plus_R_second = R_first + R_second
            R_first_plus_R_second_inv_A_scaled = R_first_plus_R_second * inv_A_scaled
            condition_A = A < 8.673617379884035e-19
            condition_B = B < 8.673617379884035e-19
            condition_A_B = condition_A and condition_B
            B_first_plus_B_second = B_first + B_second
            inv_A = 1.0 / A
            exp_log_alpha_inv_A = exp_log_alpha * inv_A
            exp_neg_log_alpha_p = np.exp(neg_log_alpha_p)
            rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
            log1p_rest_p_exp_neg_log_alpha_p = np.log1p(rest_p_exp_neg_log_alpha_p)
            neg_log_alpha = -log_alpha
            exp_neg_log_alpha = np.exp(neg_log_alpha)
            rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
            log1p_rest_exp_neg_log_alpha = np.log1p(rest_exp_neg_log_alpha)
            exp_difference_split_2 = exp_difference_split(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
            log_B = np.log(B)
            log_A = np.log(A)
            log_A_minus_log_B = log_A - log_B
            abs_log_A_minus_log_B = np.absolute(log_A_minus_log_B)
            log_alpha_ge_m = log_alpha >= m
            abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
            condition_n_top = n_top < 1.5
            twice_rest = 2.0 * rest
            A_ge_twice_rest = A >= twice_rest
            twice_rest_p = 2.0 * rest_p
            B_ge_twice_rest_p = B >= twice_rest_p
            neg_sum = -sum
            shift_step_lt_neg_sum = shift_step < neg_sum
            condition = (
                A_ge_twice_rest
                and B_ge_twice_rest_p
                and abs_log_A_minus_log_B_gt_sum
                and condition_n_top
                and log_alpha_ge_m
                and shift_step_lt_neg_sum
            )
            B_inv_A = B * inv_A
            log_exp_log_alpha_inv_A = np.log(exp_log_alpha_inv_A)
            inv_B = 1.0 / B
            exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
            log_exp_log_alpha_p_inv_B = np.log(exp_log_alpha_p_inv_B)
            abs_log_exp_log_alpha_inv_A = np.absolute(log_exp_log_alpha_inv_A)
            abs_log_exp_log_alpha_p_inv_B = np.absolute(log_exp_log_alpha_p_inv_B)
            sum_A_B_log_alpha_log_alpha_p = (
                abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
            )
            log_shifted = np.log(shifted)
            log_B_minus_log_shifted = log_B - log_shifted
            abs_log_B_minus_log_shifted = np.absolute(log_B_minus_log_shifted)
            log1p_A_scaled_R_first_R_second = np.log1p(R_first_plus_R_second_inv_A_scaled)
            abs_A_scaled_R_first_R_second = np.absolute(R_first_plus_R_second_inv_A_scaled)
            condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
            condition_2 = condition_A and condition_A_scaled_R_first_R_second and condition_B
            B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
            log1p_B_first_plus_B_second_inv_A = np.log1p(B_first_plus_B_second_inv_A)
            abs_B_first_plus_B_second = np.absolute(B_first_plus_B_second)
            twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
            A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
            log_B_inv_A = np.log(B_inv_A)
            condition_A_B_2 = abs_log_A_minus_log_B < 700.0
            neg_log_A_minus_log_B = -log_A_minus_log_B
            piecewise = (
                log1p_A_scaled_R_first_R_second
                if condition_2
                else (
                    log1p_B_first_plus_B_second_inv_A
                    if A_ge_twice_abs_B_first_plus_B_second
                    else (log_B_inv_A if condition_A_B_2 else neg_log_A_minus_log_B)
                )
            )
            difference_of_differences_2 = difference_of_differences(
                log_exp_log_alpha_inv_A, log_exp_log_alpha_p_inv_B, 0.0, 0.0, 0.0
            )
            condition_A_B_log_alpha_log_alpha_p = (
                abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
            )
            condition_3 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
            condition_4 = condition_3 and condition_A_B_log_alpha_log_alpha_p
            neg_piecewise = -piecewise
            difference_of_differences_3 = difference_of_differences(
                log_alpha, log_alpha_p, 0.0, 0.0, neg_piecewise
            )
            condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
            log1p_shift_step = np.log1p(shift_step)
            condition_shift_step = shift_step >= -0.5
            inv_B_shifted = inv_B * shifted
            log_inv_B_shifted = np.log(inv_B_shifted)
            product_B = 1e-300 * B
            shifted_ge_product_B = shifted >= product_B
            neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
            piecewise_B_shift_step_shifted = (
                log1p_shift_step
                if condition_shift_step
                else (log_inv_B_shifted if shifted_ge_product_B else neg_log_B_minus_log_shifted)
            )
            difference_of_differences_4 = difference_of_differences(
                log_alpha, log_alpha_p, d_max, 0.0, piecewise_B_shift_step_shifted
            )
            piecewise_2 = (
                difference_of_differences_2
                if condition_4
                else (
                    difference_of_differences_3
                    if condition_A_B_shifted
                    else difference_of_differences_4
                )
            )
            product_log_alpha_log_alpha_p = (
                expm1_log_alpha_log_alpha_p * stirling_curvature_log_alpha
            )
            exp_product_log_alpha_log_alpha_p = exp_product(
                product_log_alpha_log_alpha_p, log_alpha
            )
            exp_difference_log_alpha_p_log_alpha = exp_difference(log_alpha_p, log_alpha)
            product_log_alpha_log_alpha_p_2 = (
                stirling_curvature_log_alpha * exp_difference_log_alpha_p_log_alpha
            )
            piecewise_log_alpha_log_alpha_p = (
                exp_product_log_alpha_log_alpha_p
                if condition_log_alpha_log_alpha_p_2
                else product_log_alpha_log_alpha_p_2
            )
            product_A_A_scaled_R_first_R_second = (
                R_first_plus_R_second_inv_A_scaled * stirling_curvature_at_A
            )
            exp_product_2 = exp_product(product_A_A_scaled_R_first_R_second, log_alpha)
            product_A_B_first_B_second_log_alpha = (
                B_first_plus_B_second * exp_log_alpha_inv_A * stirling_curvature_at_A
            )
            piecewise_3 = exp_product_2 if condition_A_B else product_A_B_first_B_second_log_alpha
            exp_product_B_inv_A_log_alpha = exp_product(B_inv_A, log_alpha)
            sum_A_B_log_alpha_log_alpha_p_2 = exp_product_B_inv_A_log_alpha - exp_log_alpha_p
            condition_A_B_3 = B_inv_A < 1e308
            sum_A_B_log_alpha_log_alpha_p_3 = log_B + log_alpha_plus_neg_log_alpha_p - log_A
            sum_A_B_log_alpha_log_alpha_p_3_gt_1 = sum_A_B_log_alpha_log_alpha_p_3 > 1.0
            condition_A_B_log_alpha_log_alpha_p_2 = (
                condition_A_B_3 and sum_A_B_log_alpha_log_alpha_p_3_gt_1
            )
            exp_difference_split_3 = exp_difference_split(
                log_alpha_p, log_alpha_p, piecewise_2, 0.0
            )
            piecewise_4 = exp_difference_split_2 if condition else exp_difference_split_3
            piecewise_5 = (
                exp_difference_split_2
                if condition
                else (
                    sum_A_B_log_alpha_log_alpha_p_2
                    if condition_A_B_log_alpha_log_alpha_p_2
                    else piecewise_4
                )
            )
            sum_2 = piecewise_3 + piecewise_5 - piecewise_log_alpha_log_alpha_p
            dlog_alpha_element = 0.0 if condition_size else sum_2
            product_A_scaled_B_R_first_R_second = R_first_plus_R_second * inv_A_scaled * inv_B
            sum_3 = product_A_scaled_B_R_first_R_second - piecewise
            stirling_slope_difference_pair_2 = stirling_slope_difference_pair(
                A, B, B_first_plus_B_second, piecewise
            )
            piecewise_6 = sum_3 if condition_A_B else stirling_slope_difference_pair_2
            difference_sum_2 = difference_sum(
                log_alpha_p,
                log_alpha_p,
                log1p_rest_p_exp_neg_log_alpha_p,
                log1p_rest_exp_neg_log_alpha,
            )
            difference_sum_3 = difference_sum(log_alpha_p, log_alpha_p, piecewise_2, 0.0)
            piecewise_7 = difference_sum_2 if condition else difference_sum_3
            exp_product_log_alpha_log_alpha_p_2 = exp_product(
                expm1_log_alpha_log_alpha_p, neg_log_alpha_p
            )
            sum_log_alpha_log_alpha_p = (
                log_alpha_plus_neg_log_alpha_p + exp_product_log_alpha_log_alpha_p_2
            )
            stirling_slope_difference_2 = stirling_slope_difference(log_alpha, log_alpha_p)
            piecewise_log_alpha_log_alpha_p_2 = (
                sum_log_alpha_log_alpha_p
                if condition_log_alpha_log_alpha_p_2
                else stirling_slope_difference_2
            )
            sum_4 = piecewise_log_alpha_log_alpha_p_2 - piecewise_6 - piecewise_7
            exp_product_sum_4_log_alpha_p = exp_product(sum_4, log_alpha_p)
            dlog_alpha_p_element = 0.0 if condition_size else exp_product_sum_4_log_alpha_p
            dlog_alpha[start + j] = dlog_alpha_element
            dlog_alpha_p[start + j] = dlog_alpha_p_element


_ROWS = {
    "value": {np.dtype(np.float32): _value_rows, np.dtype(np.float64): _value_rows},
    "grad": {np.dtype(np.float32): _grad_rows, np.dtype(np.float64): _grad_rows},
    "value_and_grad": {
        np.dtype(np.float32): _value_and_grad_rows,
        np.dtype(np.float64): _value_and_grad_rows,
    },
}


def _wide(xp, arrays, shape):
    """The inputs in float64, broadcast to ``shape``."""
    return [xp.broadcast_to(xp.astype(a, xp.float64), shape) for a in arrays]


def _value_generic(*values):
    """The array-API path of the value (the torch and JAX twins call it too)."""
    return _generic("value", values)[0]


def _grad_generic(*values):
    """The array-API path of the gradients."""
    return _generic("grad", values)[1]


def _value_and_grad_generic(*values):
    """The array-API path of both."""
    return _generic("value_and_grad", values)


def _generic(kind, values):
    """The array-API path: float64 inside, results in the inputs' type."""
    xp = array_namespace(_NAMES, values)
    arrays, shape, dtype = prepare_generic(xp, _NAMES, values)
    _check_rows(shape)
    value, grads = _ROWS_GENERIC[kind](
        xp, *_wide(xp, arrays, shape), generic_series(xp, dtype, 0.5)
    )
    value = None if value is None else xp.astype(value, dtype)
    return value, (reduce_generic(xp, grads, values, shape, dtype) if grads else ())


def _value_lines(xp, log_alpha, log_alpha_p, series):
    """value on whole arrays of ``xp`` (rows, elements), in float64."""
    like = xp.zeros_like(log_alpha)
    term = xp.full_like(like, 1.0)
    size = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = xp.exp(log_alpha)
    A = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = xp.exp(log_alpha_p)
    B = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, neg_log_alpha_minus_log_alpha_p, log_alpha
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    term = xp.where(
        abs_log_alpha_minus_log_alpha_p_le_1,
        exp_product_log_alpha_log_alpha_p,
        xp.full_like(like, 0.0),
    )
    B_first = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_minus_log_alpha_p
    )
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, exp_bregman_log_alpha_log_alpha_p, log_alpha
    )
    product_error_log_alpha_log_alpha_p = product_error_generic(
        xp, neg_log_alpha_minus_log_alpha_p, log_alpha
    )
    sum_log_alpha_log_alpha_p = (
        exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    term = xp.where(
        abs_log_alpha_minus_log_alpha_p_le_1,
        sum_log_alpha_log_alpha_p,
        exp_difference_log_alpha_p_log_alpha,
    )
    B_second = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    exp_product_log_alpha = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha
    )
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    term = xp.where(
        condition_log_alpha, exp_product_log_alpha, xp.full_like(like, 3.599131035634557e162)
    )
    A_scaled = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
    product_log_alpha = 4.149515568880993e180 * log_alpha
    sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, sum_log_alpha_log_alpha_p, log_alpha
    )
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p = xp.logical_and(
        xp.logical_and(abs_log_alpha_minus_log_alpha_p_le_1, condition_log_alpha),
        condition_log_alpha_p,
    )
    term = xp.where(
        condition_log_alpha_log_alpha_p, exp_product_log_alpha_log_alpha_p, xp.full_like(like, 0.0)
    )
    R_first = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_minus_log_alpha_p
    )
    product_log_alpha_log_alpha_p = 4.149515568880993e180 * exp_bregman_log_alpha_log_alpha_p
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, product_log_alpha_log_alpha_p, log_alpha
    )
    product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
    product_log_alpha = 4.149515568880993e180 * log_alpha
    sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
    product_error_log_alpha_log_alpha_p = product_error_generic(
        xp, sum_log_alpha_log_alpha_p, log_alpha
    )
    sum_log_alpha_log_alpha_p_2 = (
        exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p = xp.logical_and(
        xp.logical_and(abs_log_alpha_minus_log_alpha_p_le_1, condition_log_alpha),
        condition_log_alpha_p,
    )
    exp_product_log_alpha = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha
    )
    exp_product_log_alpha_p = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha_p
    )
    sum_log_alpha_log_alpha_p_3 = exp_product_log_alpha_p - exp_product_log_alpha
    condition_log_alpha_log_alpha_p_2 = xp.logical_and(condition_log_alpha, condition_log_alpha_p)
    term = xp.where(
        condition_log_alpha_log_alpha_p,
        sum_log_alpha_log_alpha_p_2,
        xp.where(
            condition_log_alpha_log_alpha_p_2, sum_log_alpha_log_alpha_p_3, xp.full_like(like, 0.0)
        ),
    )
    R_second = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    term = log_alpha
    m = xp.max(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 1.0), xp.full_like(like, 0.0))
    n_top = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_log_alpha = xp.exp(log_alpha)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_log_alpha)
    rest = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_log_alpha_p = xp.exp(log_alpha_p)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_log_alpha_p)
    rest_p = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_difference_ratio_2 = exp_difference_ratio_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), A
    )
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_difference_ratio_2)
    R_rest = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_ge_m = log_alpha >= m
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_difference_log_alpha_p_log_alpha)
    rest_change = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_ge_m = log_alpha >= m
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    rest_plus_rest_p = rest + rest_p
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    abs_log_alpha_log_alpha_p = xp.abs(exp_difference_log_alpha_p_log_alpha)
    condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
    condition_2 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), condition),
            condition_n_top,
        ),
        log_alpha_ge_m,
    )
    term = xp.where(condition_2, xp.full_like(like, 1.0), xp.full_like(like, 0.0))
    n_gap = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = log_alpha - log_alpha_p
    d_max = xp.max(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = exp_of_difference_generic(xp, xp.full_like(like, 1.0), log_alpha, d_max)
    shifted = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = exp_difference_ratio_generic(
        xp, log_alpha_p, log_alpha, xp.full_like(like, 0.0), d_max, B
    )
    shift_step = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    exp_log_alpha = xp.exp(log_alpha)
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    log_alpha_ge_m = log_alpha >= m
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    abs_log_alpha_log_alpha_p = xp.abs(exp_difference_log_alpha_p_log_alpha)
    rest_plus_rest_p = rest + rest_p
    condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
    product_log_alpha_log_alpha_p = 9.0 * abs_log_alpha_log_alpha_p
    exp_log_alpha_p = xp.exp(log_alpha_p)
    neg_log_alpha = -log_alpha
    exp_neg_log_alpha = xp.exp(neg_log_alpha)
    rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
    log1p_rest_exp_neg_log_alpha = xp.log1p(rest_exp_neg_log_alpha)
    B_first_plus_B_second = B_first + B_second
    neg_log_alpha_p = -log_alpha_p
    exp_neg_log_alpha_p = xp.exp(neg_log_alpha_p)
    rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
    log1p_rest_p_exp_neg_log_alpha_p = xp.log1p(rest_p_exp_neg_log_alpha_p)
    exp_bregman_log_alpha_p_log_alpha = exp_bregman_generic(xp, log_alpha_p, log_alpha)
    product_log_alpha_log_alpha_p_2 = -exp_bregman_log_alpha_p_log_alpha
    R_first_plus_R_second = R_first + R_second
    over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    inv_A = 1.0 / A
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    log1p_A_scaled_R_first_R_second = xp.log1p(over_A_scaled_R_first_plus_R_second)
    abs_A_scaled_R_first_R_second = xp.abs(over_A_scaled_R_first_plus_R_second)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition_2 = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    B_inv_A = B * inv_A
    log_B_inv_A = xp.log(B_inv_A)
    condition_A_B = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition_2,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    neg_piecewise = -piecewise
    exp_bregman_2 = exp_bregman_generic(xp, xp.full_like(like, 0.0), neg_piecewise)
    B_exp_bregman_2 = B * exp_bregman_2
    log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
    neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
    expm1_log_alpha_log_alpha_p = xp.expm1(neg_log_alpha_plus_neg_log_alpha_p)
    inv_A_rest = inv_A * rest
    abs_log_alpha_plus_neg_log_alpha_p = xp.abs(log_alpha_plus_neg_log_alpha_p)
    sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
    exp_log_alpha_inv_A = exp_log_alpha * inv_A
    log_exp_log_alpha_inv_A = xp.log(exp_log_alpha_inv_A)
    inv_B = 1.0 / B
    exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
    log_exp_log_alpha_p_inv_B = xp.log(exp_log_alpha_p_inv_B)
    abs_log_exp_log_alpha_inv_A = xp.abs(log_exp_log_alpha_inv_A)
    abs_log_exp_log_alpha_p_inv_B = xp.abs(log_exp_log_alpha_p_inv_B)
    sum_A_B_log_alpha_log_alpha_p = (
        abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
    )
    log_shifted = xp.log(shifted)
    log_B_minus_log_shifted = log_B - log_shifted
    abs_log_B_minus_log_shifted = xp.abs(log_B_minus_log_shifted)
    product_A_log_alpha_log_alpha_p_rest = expm1_log_alpha_log_alpha_p * inv_A_rest
    sum_2 = R_rest - product_A_log_alpha_log_alpha_p_rest
    exp_log_alpha_plus_neg_log_alpha_p = xp.exp(log_alpha_plus_neg_log_alpha_p)
    product = sum_2 * exp_log_alpha_plus_neg_log_alpha_p
    log1p_product = xp.log1p(product)
    abs_expm1_log_alpha_log_alpha_p = xp.abs(expm1_log_alpha_log_alpha_p)
    product_A_log_alpha_log_alpha_p_rest_2 = inv_A_rest * abs_expm1_log_alpha_log_alpha_p
    abs_R_rest = xp.abs(R_rest)
    sum_3 = product_A_log_alpha_log_alpha_p_rest_2 + abs_R_rest
    condition_3 = abs_log_alpha_plus_neg_log_alpha_p > sum_3
    difference_sum_2 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
    neg_sum = -sum
    shift_step_lt_neg_sum = shift_step < neg_sum
    condition_4 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), abs_log_A_minus_log_B_gt_sum
                ),
                condition_n_top,
            ),
            log_alpha_ge_m,
        ),
        shift_step_lt_neg_sum,
    )
    difference_of_differences_2 = difference_of_differences_generic(
        xp,
        log_exp_log_alpha_inv_A,
        log_exp_log_alpha_p_inv_B,
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
    )
    condition_A_B_log_alpha_log_alpha_p = abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
    condition_5 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
    condition_6 = xp.logical_and(condition_5, condition_A_B_log_alpha_log_alpha_p)
    difference_of_differences_3 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), neg_piecewise
    )
    condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
    log1p_shift_step = xp.log1p(shift_step)
    condition_shift_step = shift_step >= -0.5
    inv_B_shifted = inv_B * shifted
    log_inv_B_shifted = xp.log(inv_B_shifted)
    product_B = 1e-300 * B
    shifted_ge_product_B = shifted >= product_B
    neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
    piecewise_B_shift_step_shifted = xp.where(
        condition_shift_step,
        log1p_shift_step,
        xp.where(shifted_ge_product_B, log_inv_B_shifted, neg_log_B_minus_log_shifted),
    )
    difference_of_differences_4 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, d_max, xp.full_like(like, 0.0), piecewise_B_shift_step_shifted
    )
    piecewise_2 = xp.where(
        condition_6,
        difference_of_differences_2,
        xp.where(condition_A_B_shifted, difference_of_differences_3, difference_of_differences_4),
    )
    difference_sum_3 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_3 = xp.where(condition_4, difference_sum_2, difference_sum_3)
    piecewise_4 = xp.where(condition_3, log1p_product, piecewise_3)
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_plus_neg_log_alpha_p
    )
    sum_log_alpha_log_alpha_p = product_log_alpha_log_alpha_p_2 + exp_bregman_log_alpha_log_alpha_p
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p_2 = xp.logical_and(
        xp.logical_and(condition_log_alpha, condition_log_alpha_log_alpha_p), condition_log_alpha_p
    )
    stirling_bregman_2 = stirling_bregman_generic(xp, log_alpha, log_alpha_p)
    piecewise_log_alpha_log_alpha_p = xp.where(
        condition_log_alpha_log_alpha_p_2, sum_log_alpha_log_alpha_p, stirling_bregman_2
    )
    stirling_gap_difference_2 = stirling_gap_difference_generic(
        xp, exp_log_alpha, rest, exp_difference_log_alpha_p_log_alpha, rest_change
    )
    condition_log_alpha_log_alpha_p_3 = exp_log_alpha >= product_log_alpha_log_alpha_p
    condition_log_alpha_log_alpha_p_4 = exp_log_alpha_p >= product_log_alpha_log_alpha_p
    condition_7 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), condition),
                    condition_log_alpha_log_alpha_p_3,
                ),
                condition_log_alpha_log_alpha_p_4,
            ),
            condition_n_top,
        ),
        log_alpha_ge_m,
    )
    stirling_bregman_pair_2 = stirling_bregman_pair_generic(
        xp, exp_log_alpha_p, B, rest_p, log1p_rest_p_exp_neg_log_alpha_p
    )
    stirling_slope_difference_pair_2 = stirling_slope_difference_pair_generic(
        xp, exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
    )
    product_2 = B_first_plus_B_second * stirling_slope_difference_pair_2
    stirling_slope_difference_2 = stirling_slope_difference_generic(xp, log_alpha, log_alpha_p)
    rest_p_stirling_slope_difference_2 = rest_p * stirling_slope_difference_2
    stirling_bregman_pair_3 = stirling_bregman_pair_generic(
        xp, exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
    )
    sum_4 = (
        product_2
        + stirling_bregman_pair_3
        - stirling_bregman_pair_2
        - rest_p_stirling_slope_difference_2
    )
    condition_8 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), condition),
            condition_n_top,
        ),
        log_alpha_ge_m,
    )
    sum_A_scaled_R_first_R_second = over_A_scaled_R_first_plus_R_second + 1.0
    neg_piecewise_4 = -piecewise_4
    exp_bregman_3 = exp_bregman_generic(xp, xp.full_like(like, 0.0), neg_piecewise_4)
    product_3 = sum_A_scaled_R_first_R_second * exp_bregman_3
    product_4 = over_A_scaled_R_first_plus_R_second * piecewise_4
    sum_5 = B_exp_bregman_2 + product_log_alpha_log_alpha_p_2 + product_3 - product_4
    condition_A_B_log_alpha_m_n_top = xp.logical_and(
        xp.logical_and(xp.logical_and(condition_A, condition_B), condition_n_top), log_alpha_ge_m
    )
    exp_bregman_4 = exp_bregman_generic(xp, xp.full_like(like, 0.0), piecewise)
    exp_bregman_4_minus_B_exp_bregman_2 = exp_bregman_4 - B_exp_bregman_2
    condition_A_B_2 = xp.logical_and(condition_A, condition_B)
    stirling_bregman_pair_4 = stirling_bregman_pair_generic(
        xp, A, B, B_first_plus_B_second, piecewise
    )
    piecewise_5 = xp.where(
        condition_A_B_2, exp_bregman_4_minus_B_exp_bregman_2, stirling_bregman_pair_4
    )
    over_n_top_piecewise_5 = piecewise_5 / n_top
    sum_6 = piecewise_log_alpha_log_alpha_p - over_n_top_piecewise_5
    condition_A_B_log_alpha_m = xp.logical_and(
        xp.logical_and(condition_A, condition_B), log_alpha_ge_m
    )
    term = xp.where(
        condition_7,
        stirling_gap_difference_2,
        xp.where(
            condition_8,
            sum_4,
            xp.where(
                condition_A_B_log_alpha_m_n_top,
                sum_5,
                xp.where(condition_A_B_log_alpha_m, sum_6, piecewise_log_alpha_log_alpha_p),
            ),
        ),
    )
    F_sum = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    neg_log_alpha_p = -log_alpha_p
    exp_neg_log_alpha_p = xp.exp(neg_log_alpha_p)
    rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
    neg_log_alpha = -log_alpha
    exp_neg_log_alpha = xp.exp(neg_log_alpha)
    rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
    log1p_rest_p_exp_neg_log_alpha_p = xp.log1p(rest_p_exp_neg_log_alpha_p)
    log1p_rest_exp_neg_log_alpha = xp.log1p(rest_exp_neg_log_alpha)
    exp_bregman_split_2 = exp_bregman_split_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    log_alpha_ge_m = log_alpha >= m
    abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    neg_sum = -sum
    shift_step_lt_neg_sum = shift_step < neg_sum
    condition = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), abs_log_A_minus_log_B_gt_sum
                ),
                condition_n_top,
            ),
            log_alpha_ge_m,
        ),
        shift_step_lt_neg_sum,
    )
    inv_A = 1.0 / A
    B_inv_A = B * inv_A
    exp_log_alpha_p = xp.exp(log_alpha_p)
    exp_log_alpha = xp.exp(log_alpha)
    inv_A_exp_log_alpha = inv_A * exp_log_alpha
    log_inv_A_exp_log_alpha = xp.log(inv_A_exp_log_alpha)
    inv_B = 1.0 / B
    exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
    log_exp_log_alpha_p_inv_B = xp.log(exp_log_alpha_p_inv_B)
    abs_log_exp_log_alpha_p_inv_B = xp.abs(log_exp_log_alpha_p_inv_B)
    abs_log_inv_A_exp_log_alpha = xp.abs(log_inv_A_exp_log_alpha)
    sum_A_B_log_alpha_log_alpha_p = (
        abs_log_exp_log_alpha_p_inv_B + abs_log_inv_A_exp_log_alpha + 3.0
    )
    log_shifted = xp.log(shifted)
    log_B_minus_log_shifted = log_B - log_shifted
    abs_log_B_minus_log_shifted = xp.abs(log_B_minus_log_shifted)
    R_first_plus_R_second = R_first + R_second
    over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
    B_first_plus_B_second = B_first + B_second
    difference_of_differences_2 = difference_of_differences_generic(
        xp,
        log_inv_A_exp_log_alpha,
        log_exp_log_alpha_p_inv_B,
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
    )
    condition_A_B_log_alpha_log_alpha_p = abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
    condition_2 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
    condition_3 = xp.logical_and(condition_2, condition_A_B_log_alpha_log_alpha_p)
    log1p_A_scaled_R_first_R_second = xp.log1p(over_A_scaled_R_first_plus_R_second)
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    abs_A_scaled_R_first_R_second = xp.abs(over_A_scaled_R_first_plus_R_second)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition_4 = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    log_B_inv_A = xp.log(B_inv_A)
    condition_A_B = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition_4,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    neg_piecewise = -piecewise
    difference_of_differences_3 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), neg_piecewise
    )
    condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
    log1p_shift_step = xp.log1p(shift_step)
    condition_shift_step = shift_step >= -0.5
    inv_B_shifted = inv_B * shifted
    log_inv_B_shifted = xp.log(inv_B_shifted)
    product_B = 1e-300 * B
    shifted_ge_product_B = shifted >= product_B
    neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
    piecewise_B_shift_step_shifted = xp.where(
        condition_shift_step,
        log1p_shift_step,
        xp.where(shifted_ge_product_B, log_inv_B_shifted, neg_log_B_minus_log_shifted),
    )
    difference_of_differences_4 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, d_max, xp.full_like(like, 0.0), piecewise_B_shift_step_shifted
    )
    piecewise_2 = xp.where(
        condition_3,
        difference_of_differences_2,
        xp.where(condition_A_B_shifted, difference_of_differences_3, difference_of_differences_4),
    )
    exp_product_piecewise_2_log_alpha_p = exp_product_generic(xp, piecewise_2, log_alpha_p)
    exp_product_B_inv_A_log_alpha = exp_product_generic(xp, B_inv_A, log_alpha)
    sum_2 = exp_product_B_inv_A_log_alpha - exp_log_alpha_p - exp_product_piecewise_2_log_alpha_p
    condition_A_B_2 = B_inv_A < 1e308
    sum_A_B_log_alpha_log_alpha_p_2 = log_B + log_alpha + neg_log_alpha_p - log_A
    sum_A_B_log_alpha_log_alpha_p_2_gt_1 = sum_A_B_log_alpha_log_alpha_p_2 > 1.0
    condition_A_B_log_alpha_log_alpha_p_2 = xp.logical_and(
        condition_A_B_2, sum_A_B_log_alpha_log_alpha_p_2_gt_1
    )
    exp_bregman_split_3 = exp_bregman_split_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_3 = xp.where(condition, exp_bregman_split_2, exp_bregman_split_3)
    term = xp.where(
        condition,
        exp_bregman_split_2,
        xp.where(condition_A_B_log_alpha_log_alpha_p_2, sum_2, piecewise_3),
    )
    H_sum = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    condition_A_B = xp.logical_and(condition_A, condition_B)
    R_first_plus_R_second = R_first + R_second
    over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
    inv_A = 1.0 / A
    B_first_plus_B_second = B_first + B_second
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    log1p_A_scaled_R_first_R_second = xp.log1p(over_A_scaled_R_first_plus_R_second)
    abs_A_scaled_R_first_R_second = xp.abs(over_A_scaled_R_first_plus_R_second)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    B_inv_A = B * inv_A
    log_B_inv_A = xp.log(B_inv_A)
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    condition_A_B_2 = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B_2, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    condition_size = size < 1.5
    n_gap_gt_half = n_gap > 0.5
    condition_A_B_n_gap = xp.logical_or(condition_A_B, n_gap_gt_half)
    neg_piecewise = -piecewise
    exp_bregman_2 = exp_bregman_generic(xp, xp.full_like(like, 0.0), neg_piecewise)
    B_exp_bregman_2 = B * exp_bregman_2
    exp_bregman_3 = exp_bregman_generic(xp, xp.full_like(like, 0.0), piecewise)
    exp_bregman_3_minus_B_exp_bregman_2 = exp_bregman_3 - B_exp_bregman_2
    stirling_bregman_pair_2 = stirling_bregman_pair_generic(
        xp, A, B, B_first_plus_B_second, piecewise
    )
    piecewise_2 = xp.where(
        condition_A_B, exp_bregman_3_minus_B_exp_bregman_2, stirling_bregman_pair_2
    )
    piecewise_3 = xp.where(condition_A_B_n_gap, xp.full_like(like, 0.0), piecewise_2)
    F_sum_plus_H_sum_minus_piecewise_3 = F_sum + H_sum - piecewise_3
    result = xp.where(condition_size, xp.full_like(like, 0.0), F_sum_plus_H_sum_minus_piecewise_3)
    value = xp.broadcast_to(result, like.shape)[..., 0]
    grads = ()
    return value, grads


def _grad_lines(xp, log_alpha, log_alpha_p, series):
    """grad on whole arrays of ``xp`` (rows, elements), in float64."""
    like = xp.zeros_like(log_alpha)
    term = xp.full_like(like, 1.0)
    size = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = xp.exp(log_alpha)
    A = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = xp.exp(log_alpha_p)
    B = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, neg_log_alpha_minus_log_alpha_p, log_alpha
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    term = xp.where(
        abs_log_alpha_minus_log_alpha_p_le_1,
        exp_product_log_alpha_log_alpha_p,
        xp.full_like(like, 0.0),
    )
    B_first = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_minus_log_alpha_p
    )
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, exp_bregman_log_alpha_log_alpha_p, log_alpha
    )
    product_error_log_alpha_log_alpha_p = product_error_generic(
        xp, neg_log_alpha_minus_log_alpha_p, log_alpha
    )
    sum_log_alpha_log_alpha_p = (
        exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    term = xp.where(
        abs_log_alpha_minus_log_alpha_p_le_1,
        sum_log_alpha_log_alpha_p,
        exp_difference_log_alpha_p_log_alpha,
    )
    B_second = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    exp_product_log_alpha = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha
    )
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    term = xp.where(
        condition_log_alpha, exp_product_log_alpha, xp.full_like(like, 3.599131035634557e162)
    )
    A_scaled = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
    product_log_alpha = 4.149515568880993e180 * log_alpha
    sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, sum_log_alpha_log_alpha_p, log_alpha
    )
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p = xp.logical_and(
        xp.logical_and(abs_log_alpha_minus_log_alpha_p_le_1, condition_log_alpha),
        condition_log_alpha_p,
    )
    term = xp.where(
        condition_log_alpha_log_alpha_p, exp_product_log_alpha_log_alpha_p, xp.full_like(like, 0.0)
    )
    R_first = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_minus_log_alpha_p
    )
    product_log_alpha_log_alpha_p = 4.149515568880993e180 * exp_bregman_log_alpha_log_alpha_p
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, product_log_alpha_log_alpha_p, log_alpha
    )
    product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
    product_log_alpha = 4.149515568880993e180 * log_alpha
    sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
    product_error_log_alpha_log_alpha_p = product_error_generic(
        xp, sum_log_alpha_log_alpha_p, log_alpha
    )
    sum_log_alpha_log_alpha_p_2 = (
        exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p = xp.logical_and(
        xp.logical_and(abs_log_alpha_minus_log_alpha_p_le_1, condition_log_alpha),
        condition_log_alpha_p,
    )
    exp_product_log_alpha = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha
    )
    exp_product_log_alpha_p = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha_p
    )
    sum_log_alpha_log_alpha_p_3 = exp_product_log_alpha_p - exp_product_log_alpha
    condition_log_alpha_log_alpha_p_2 = xp.logical_and(condition_log_alpha, condition_log_alpha_p)
    term = xp.where(
        condition_log_alpha_log_alpha_p,
        sum_log_alpha_log_alpha_p_2,
        xp.where(
            condition_log_alpha_log_alpha_p_2, sum_log_alpha_log_alpha_p_3, xp.full_like(like, 0.0)
        ),
    )
    R_second = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    term = log_alpha
    m = xp.max(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 1.0), xp.full_like(like, 0.0))
    n_top = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_log_alpha = xp.exp(log_alpha)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_log_alpha)
    rest = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_log_alpha_p = xp.exp(log_alpha_p)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_log_alpha_p)
    rest_p = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = log_alpha - log_alpha_p
    d_max = xp.max(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = exp_of_difference_generic(xp, xp.full_like(like, 1.0), log_alpha, d_max)
    shifted = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = exp_difference_ratio_generic(
        xp, log_alpha_p, log_alpha, xp.full_like(like, 0.0), d_max, B
    )
    shift_step = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    value = None
    condition_size = size < 1.5
    neg_log_alpha_p = -log_alpha_p
    log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
    neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
    expm1_log_alpha_log_alpha_p = xp.expm1(neg_log_alpha_plus_neg_log_alpha_p)
    stirling_curvature_log_alpha = stirling_curvature_generic(xp, log_alpha)
    exp_log_alpha = xp.exp(log_alpha)
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    abs_log_alpha_plus_neg_log_alpha_p = xp.abs(log_alpha_plus_neg_log_alpha_p)
    condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p_2 = xp.logical_and(
        xp.logical_and(condition_log_alpha, condition_log_alpha_log_alpha_p), condition_log_alpha_p
    )
    stirling_curvature_at_A = stirling_curvature_at_generic(xp, A)
    inv_A_scaled = 1.0 / A_scaled
    R_first_plus_R_second = R_first + R_second
    R_first_plus_R_second_inv_A_scaled = R_first_plus_R_second * inv_A_scaled
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    condition_A_B = xp.logical_and(condition_A, condition_B)
    B_first_plus_B_second = B_first + B_second
    inv_A = 1.0 / A
    exp_log_alpha_inv_A = exp_log_alpha * inv_A
    exp_neg_log_alpha_p = xp.exp(neg_log_alpha_p)
    rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
    log1p_rest_p_exp_neg_log_alpha_p = xp.log1p(rest_p_exp_neg_log_alpha_p)
    neg_log_alpha = -log_alpha
    exp_neg_log_alpha = xp.exp(neg_log_alpha)
    rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
    log1p_rest_exp_neg_log_alpha = xp.log1p(rest_exp_neg_log_alpha)
    exp_difference_split_2 = exp_difference_split_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    log_alpha_ge_m = log_alpha >= m
    abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    neg_sum = -sum
    shift_step_lt_neg_sum = shift_step < neg_sum
    condition = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), abs_log_A_minus_log_B_gt_sum
                ),
                condition_n_top,
            ),
            log_alpha_ge_m,
        ),
        shift_step_lt_neg_sum,
    )
    B_inv_A = B * inv_A
    log_exp_log_alpha_inv_A = xp.log(exp_log_alpha_inv_A)
    inv_B = 1.0 / B
    exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
    log_exp_log_alpha_p_inv_B = xp.log(exp_log_alpha_p_inv_B)
    abs_log_exp_log_alpha_inv_A = xp.abs(log_exp_log_alpha_inv_A)
    abs_log_exp_log_alpha_p_inv_B = xp.abs(log_exp_log_alpha_p_inv_B)
    sum_A_B_log_alpha_log_alpha_p = (
        abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
    )
    log_shifted = xp.log(shifted)
    log_B_minus_log_shifted = log_B - log_shifted
    abs_log_B_minus_log_shifted = xp.abs(log_B_minus_log_shifted)
    log1p_A_scaled_R_first_R_second = xp.log1p(R_first_plus_R_second_inv_A_scaled)
    abs_A_scaled_R_first_R_second = xp.abs(R_first_plus_R_second_inv_A_scaled)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition_2 = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    log_B_inv_A = xp.log(B_inv_A)
    condition_A_B_2 = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition_2,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B_2, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    difference_of_differences_2 = difference_of_differences_generic(
        xp,
        log_exp_log_alpha_inv_A,
        log_exp_log_alpha_p_inv_B,
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
    )
    condition_A_B_log_alpha_log_alpha_p = abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
    condition_3 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
    condition_4 = xp.logical_and(condition_3, condition_A_B_log_alpha_log_alpha_p)
    neg_piecewise = -piecewise
    difference_of_differences_3 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), neg_piecewise
    )
    condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
    log1p_shift_step = xp.log1p(shift_step)
    condition_shift_step = shift_step >= -0.5
    inv_B_shifted = inv_B * shifted
    log_inv_B_shifted = xp.log(inv_B_shifted)
    product_B = 1e-300 * B
    shifted_ge_product_B = shifted >= product_B
    neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
    piecewise_B_shift_step_shifted = xp.where(
        condition_shift_step,
        log1p_shift_step,
        xp.where(shifted_ge_product_B, log_inv_B_shifted, neg_log_B_minus_log_shifted),
    )
    difference_of_differences_4 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, d_max, xp.full_like(like, 0.0), piecewise_B_shift_step_shifted
    )
    piecewise_2 = xp.where(
        condition_4,
        difference_of_differences_2,
        xp.where(condition_A_B_shifted, difference_of_differences_3, difference_of_differences_4),
    )
    product_log_alpha_log_alpha_p = expm1_log_alpha_log_alpha_p * stirling_curvature_log_alpha
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, product_log_alpha_log_alpha_p, log_alpha
    )
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    product_log_alpha_log_alpha_p_2 = (
        stirling_curvature_log_alpha * exp_difference_log_alpha_p_log_alpha
    )
    piecewise_log_alpha_log_alpha_p = xp.where(
        condition_log_alpha_log_alpha_p_2,
        exp_product_log_alpha_log_alpha_p,
        product_log_alpha_log_alpha_p_2,
    )
    product_A_A_scaled_R_first_R_second = (
        R_first_plus_R_second_inv_A_scaled * stirling_curvature_at_A
    )
    exp_product_2 = exp_product_generic(xp, product_A_A_scaled_R_first_R_second, log_alpha)
    product_A_B_first_B_second_log_alpha = (
        B_first_plus_B_second * exp_log_alpha_inv_A * stirling_curvature_at_A
    )
    piecewise_3 = xp.where(condition_A_B, exp_product_2, product_A_B_first_B_second_log_alpha)
    exp_product_B_inv_A_log_alpha = exp_product_generic(xp, B_inv_A, log_alpha)
    sum_A_B_log_alpha_log_alpha_p_2 = exp_product_B_inv_A_log_alpha - exp_log_alpha_p
    condition_A_B_3 = B_inv_A < 1e308
    sum_A_B_log_alpha_log_alpha_p_3 = log_B + log_alpha_plus_neg_log_alpha_p - log_A
    sum_A_B_log_alpha_log_alpha_p_3_gt_1 = sum_A_B_log_alpha_log_alpha_p_3 > 1.0
    condition_A_B_log_alpha_log_alpha_p_2 = xp.logical_and(
        condition_A_B_3, sum_A_B_log_alpha_log_alpha_p_3_gt_1
    )
    exp_difference_split_3 = exp_difference_split_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_4 = xp.where(condition, exp_difference_split_2, exp_difference_split_3)
    piecewise_5 = xp.where(
        condition,
        exp_difference_split_2,
        xp.where(
            condition_A_B_log_alpha_log_alpha_p_2, sum_A_B_log_alpha_log_alpha_p_2, piecewise_4
        ),
    )
    sum_2 = piecewise_3 + piecewise_5 - piecewise_log_alpha_log_alpha_p
    dlog_alpha = xp.where(condition_size, xp.full_like(like, 0.0), sum_2)
    product_A_scaled_B_R_first_R_second = R_first_plus_R_second * inv_A_scaled * inv_B
    sum_3 = product_A_scaled_B_R_first_R_second - piecewise
    stirling_slope_difference_pair_2 = stirling_slope_difference_pair_generic(
        xp, A, B, B_first_plus_B_second, piecewise
    )
    piecewise_6 = xp.where(condition_A_B, sum_3, stirling_slope_difference_pair_2)
    difference_sum_2 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    difference_sum_3 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_7 = xp.where(condition, difference_sum_2, difference_sum_3)
    exp_product_log_alpha_log_alpha_p_2 = exp_product_generic(
        xp, expm1_log_alpha_log_alpha_p, neg_log_alpha_p
    )
    sum_log_alpha_log_alpha_p = log_alpha_plus_neg_log_alpha_p + exp_product_log_alpha_log_alpha_p_2
    stirling_slope_difference_2 = stirling_slope_difference_generic(xp, log_alpha, log_alpha_p)
    piecewise_log_alpha_log_alpha_p_2 = xp.where(
        condition_log_alpha_log_alpha_p_2, sum_log_alpha_log_alpha_p, stirling_slope_difference_2
    )
    sum_4 = piecewise_log_alpha_log_alpha_p_2 - piecewise_6 - piecewise_7
    exp_product_sum_4_log_alpha_p = exp_product_generic(xp, sum_4, log_alpha_p)
    dlog_alpha_p = xp.where(condition_size, xp.full_like(like, 0.0), exp_product_sum_4_log_alpha_p)
    grads = (
        xp.broadcast_to(dlog_alpha, like.shape),
        xp.broadcast_to(dlog_alpha_p, like.shape),
    )
    return value, grads


def _value_and_grad_lines(xp, log_alpha, log_alpha_p, series):
    """value and grad on whole arrays of ``xp`` (rows, elements), in float64."""
    like = xp.zeros_like(log_alpha)
    term = xp.full_like(like, 1.0)
    size = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = xp.exp(log_alpha)
    A = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = xp.exp(log_alpha_p)
    B = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, neg_log_alpha_minus_log_alpha_p, log_alpha
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    term = xp.where(
        abs_log_alpha_minus_log_alpha_p_le_1,
        exp_product_log_alpha_log_alpha_p,
        xp.full_like(like, 0.0),
    )
    B_first = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_minus_log_alpha_p
    )
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, exp_bregman_log_alpha_log_alpha_p, log_alpha
    )
    product_error_log_alpha_log_alpha_p = product_error_generic(
        xp, neg_log_alpha_minus_log_alpha_p, log_alpha
    )
    sum_log_alpha_log_alpha_p = (
        exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    term = xp.where(
        abs_log_alpha_minus_log_alpha_p_le_1,
        sum_log_alpha_log_alpha_p,
        exp_difference_log_alpha_p_log_alpha,
    )
    B_second = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    exp_product_log_alpha = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha
    )
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    term = xp.where(
        condition_log_alpha, exp_product_log_alpha, xp.full_like(like, 3.599131035634557e162)
    )
    A_scaled = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
    product_log_alpha = 4.149515568880993e180 * log_alpha
    sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, sum_log_alpha_log_alpha_p, log_alpha
    )
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p = xp.logical_and(
        xp.logical_and(abs_log_alpha_minus_log_alpha_p_le_1, condition_log_alpha),
        condition_log_alpha_p,
    )
    term = xp.where(
        condition_log_alpha_log_alpha_p, exp_product_log_alpha_log_alpha_p, xp.full_like(like, 0.0)
    )
    R_first = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_minus_log_alpha_p = log_alpha - log_alpha_p
    exp_log_alpha = xp.exp(log_alpha)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    neg_log_alpha_minus_log_alpha_p = -log_alpha_minus_log_alpha_p
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_minus_log_alpha_p
    )
    product_log_alpha_log_alpha_p = 4.149515568880993e180 * exp_bregman_log_alpha_log_alpha_p
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, product_log_alpha_log_alpha_p, log_alpha
    )
    product_log_alpha_p = 4.149515568880993e180 * log_alpha_p
    product_log_alpha = 4.149515568880993e180 * log_alpha
    sum_log_alpha_log_alpha_p = product_log_alpha_p - product_log_alpha
    product_error_log_alpha_log_alpha_p = product_error_generic(
        xp, sum_log_alpha_log_alpha_p, log_alpha
    )
    sum_log_alpha_log_alpha_p_2 = (
        exp_product_log_alpha_log_alpha_p + product_error_log_alpha_log_alpha_p
    )
    abs_log_alpha_minus_log_alpha_p = xp.abs(log_alpha_minus_log_alpha_p)
    abs_log_alpha_minus_log_alpha_p_le_1 = abs_log_alpha_minus_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p = xp.logical_and(
        xp.logical_and(abs_log_alpha_minus_log_alpha_p_le_1, condition_log_alpha),
        condition_log_alpha_p,
    )
    exp_product_log_alpha = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha
    )
    exp_product_log_alpha_p = exp_product_generic(
        xp, xp.full_like(like, 4.149515568880993e180), log_alpha_p
    )
    sum_log_alpha_log_alpha_p_3 = exp_product_log_alpha_p - exp_product_log_alpha
    condition_log_alpha_log_alpha_p_2 = xp.logical_and(condition_log_alpha, condition_log_alpha_p)
    term = xp.where(
        condition_log_alpha_log_alpha_p,
        sum_log_alpha_log_alpha_p_2,
        xp.where(
            condition_log_alpha_log_alpha_p_2, sum_log_alpha_log_alpha_p_3, xp.full_like(like, 0.0)
        ),
    )
    R_second = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    term = log_alpha
    m = xp.max(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 1.0), xp.full_like(like, 0.0))
    n_top = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_log_alpha = xp.exp(log_alpha)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_log_alpha)
    rest = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_log_alpha_p = xp.exp(log_alpha_p)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_log_alpha_p)
    rest_p = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    log_alpha_ge_m = log_alpha >= m
    exp_difference_ratio_2 = exp_difference_ratio_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), A
    )
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_difference_ratio_2)
    R_rest = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_ge_m = log_alpha >= m
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    term = xp.where(log_alpha_ge_m, xp.full_like(like, 0.0), exp_difference_log_alpha_p_log_alpha)
    rest_change = compensated_row_sum_generic(xp, xp.broadcast_to(term, like.shape))
    log_alpha_ge_m = log_alpha >= m
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    rest_plus_rest_p = rest + rest_p
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    abs_log_alpha_log_alpha_p = xp.abs(exp_difference_log_alpha_p_log_alpha)
    condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
    condition_2 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), condition),
            condition_n_top,
        ),
        log_alpha_ge_m,
    )
    term = xp.where(condition_2, xp.full_like(like, 1.0), xp.full_like(like, 0.0))
    n_gap = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = log_alpha - log_alpha_p
    d_max = xp.max(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = exp_of_difference_generic(xp, xp.full_like(like, 1.0), log_alpha, d_max)
    shifted = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    term = exp_difference_ratio_generic(
        xp, log_alpha_p, log_alpha, xp.full_like(like, 0.0), d_max, B
    )
    shift_step = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    exp_log_alpha = xp.exp(log_alpha)
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    log_alpha_ge_m = log_alpha >= m
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    abs_log_alpha_log_alpha_p = xp.abs(exp_difference_log_alpha_p_log_alpha)
    rest_plus_rest_p = rest + rest_p
    condition = rest_plus_rest_p < abs_log_alpha_log_alpha_p
    product_log_alpha_log_alpha_p = 9.0 * abs_log_alpha_log_alpha_p
    exp_log_alpha_p = xp.exp(log_alpha_p)
    neg_log_alpha = -log_alpha
    exp_neg_log_alpha = xp.exp(neg_log_alpha)
    rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
    log1p_rest_exp_neg_log_alpha = xp.log1p(rest_exp_neg_log_alpha)
    B_first_plus_B_second = B_first + B_second
    neg_log_alpha_p = -log_alpha_p
    exp_neg_log_alpha_p = xp.exp(neg_log_alpha_p)
    rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
    log1p_rest_p_exp_neg_log_alpha_p = xp.log1p(rest_p_exp_neg_log_alpha_p)
    exp_bregman_log_alpha_p_log_alpha = exp_bregman_generic(xp, log_alpha_p, log_alpha)
    product_log_alpha_log_alpha_p_2 = -exp_bregman_log_alpha_p_log_alpha
    R_first_plus_R_second = R_first + R_second
    over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    inv_A = 1.0 / A
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    log1p_A_scaled_R_first_R_second = xp.log1p(over_A_scaled_R_first_plus_R_second)
    abs_A_scaled_R_first_R_second = xp.abs(over_A_scaled_R_first_plus_R_second)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition_2 = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    B_inv_A = B * inv_A
    log_B_inv_A = xp.log(B_inv_A)
    condition_A_B = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition_2,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    neg_piecewise = -piecewise
    exp_bregman_2 = exp_bregman_generic(xp, xp.full_like(like, 0.0), neg_piecewise)
    B_exp_bregman_2 = B * exp_bregman_2
    log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
    neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
    expm1_log_alpha_log_alpha_p = xp.expm1(neg_log_alpha_plus_neg_log_alpha_p)
    inv_A_rest = inv_A * rest
    abs_log_alpha_plus_neg_log_alpha_p = xp.abs(log_alpha_plus_neg_log_alpha_p)
    sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
    exp_log_alpha_inv_A = exp_log_alpha * inv_A
    log_exp_log_alpha_inv_A = xp.log(exp_log_alpha_inv_A)
    inv_B = 1.0 / B
    exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
    log_exp_log_alpha_p_inv_B = xp.log(exp_log_alpha_p_inv_B)
    abs_log_exp_log_alpha_inv_A = xp.abs(log_exp_log_alpha_inv_A)
    abs_log_exp_log_alpha_p_inv_B = xp.abs(log_exp_log_alpha_p_inv_B)
    sum_A_B_log_alpha_log_alpha_p = (
        abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
    )
    log_shifted = xp.log(shifted)
    log_B_minus_log_shifted = log_B - log_shifted
    abs_log_B_minus_log_shifted = xp.abs(log_B_minus_log_shifted)
    product_A_log_alpha_log_alpha_p_rest = expm1_log_alpha_log_alpha_p * inv_A_rest
    sum_2 = R_rest - product_A_log_alpha_log_alpha_p_rest
    exp_log_alpha_plus_neg_log_alpha_p = xp.exp(log_alpha_plus_neg_log_alpha_p)
    product = sum_2 * exp_log_alpha_plus_neg_log_alpha_p
    log1p_product = xp.log1p(product)
    abs_expm1_log_alpha_log_alpha_p = xp.abs(expm1_log_alpha_log_alpha_p)
    product_A_log_alpha_log_alpha_p_rest_2 = inv_A_rest * abs_expm1_log_alpha_log_alpha_p
    abs_R_rest = xp.abs(R_rest)
    sum_3 = product_A_log_alpha_log_alpha_p_rest_2 + abs_R_rest
    condition_3 = abs_log_alpha_plus_neg_log_alpha_p > sum_3
    difference_sum_2 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
    neg_sum = -sum
    shift_step_lt_neg_sum = shift_step < neg_sum
    condition_4 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), abs_log_A_minus_log_B_gt_sum
                ),
                condition_n_top,
            ),
            log_alpha_ge_m,
        ),
        shift_step_lt_neg_sum,
    )
    difference_of_differences_2 = difference_of_differences_generic(
        xp,
        log_exp_log_alpha_inv_A,
        log_exp_log_alpha_p_inv_B,
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
    )
    condition_A_B_log_alpha_log_alpha_p = abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
    condition_5 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
    condition_6 = xp.logical_and(condition_5, condition_A_B_log_alpha_log_alpha_p)
    difference_of_differences_3 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), neg_piecewise
    )
    condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
    log1p_shift_step = xp.log1p(shift_step)
    condition_shift_step = shift_step >= -0.5
    inv_B_shifted = inv_B * shifted
    log_inv_B_shifted = xp.log(inv_B_shifted)
    product_B = 1e-300 * B
    shifted_ge_product_B = shifted >= product_B
    neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
    piecewise_B_shift_step_shifted = xp.where(
        condition_shift_step,
        log1p_shift_step,
        xp.where(shifted_ge_product_B, log_inv_B_shifted, neg_log_B_minus_log_shifted),
    )
    difference_of_differences_4 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, d_max, xp.full_like(like, 0.0), piecewise_B_shift_step_shifted
    )
    piecewise_2 = xp.where(
        condition_6,
        difference_of_differences_2,
        xp.where(condition_A_B_shifted, difference_of_differences_3, difference_of_differences_4),
    )
    difference_sum_3 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_3 = xp.where(condition_4, difference_sum_2, difference_sum_3)
    piecewise_4 = xp.where(condition_3, log1p_product, piecewise_3)
    exp_bregman_log_alpha_log_alpha_p = exp_bregman_generic(
        xp, xp.full_like(like, 0.0), neg_log_alpha_plus_neg_log_alpha_p
    )
    sum_log_alpha_log_alpha_p = product_log_alpha_log_alpha_p_2 + exp_bregman_log_alpha_log_alpha_p
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p_2 = xp.logical_and(
        xp.logical_and(condition_log_alpha, condition_log_alpha_log_alpha_p), condition_log_alpha_p
    )
    stirling_bregman_2 = stirling_bregman_generic(xp, log_alpha, log_alpha_p)
    piecewise_log_alpha_log_alpha_p = xp.where(
        condition_log_alpha_log_alpha_p_2, sum_log_alpha_log_alpha_p, stirling_bregman_2
    )
    stirling_gap_difference_2 = stirling_gap_difference_generic(
        xp, exp_log_alpha, rest, exp_difference_log_alpha_p_log_alpha, rest_change
    )
    condition_log_alpha_log_alpha_p_3 = exp_log_alpha >= product_log_alpha_log_alpha_p
    condition_log_alpha_log_alpha_p_4 = exp_log_alpha_p >= product_log_alpha_log_alpha_p
    condition_7 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), condition),
                    condition_log_alpha_log_alpha_p_3,
                ),
                condition_log_alpha_log_alpha_p_4,
            ),
            condition_n_top,
        ),
        log_alpha_ge_m,
    )
    stirling_bregman_pair_2 = stirling_bregman_pair_generic(
        xp, exp_log_alpha_p, B, rest_p, log1p_rest_p_exp_neg_log_alpha_p
    )
    stirling_slope_difference_pair_2 = stirling_slope_difference_pair_generic(
        xp, exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
    )
    product_2 = B_first_plus_B_second * stirling_slope_difference_pair_2
    stirling_slope_difference_2 = stirling_slope_difference_generic(xp, log_alpha, log_alpha_p)
    rest_p_stirling_slope_difference_2 = rest_p * stirling_slope_difference_2
    stirling_bregman_pair_3 = stirling_bregman_pair_generic(
        xp, exp_log_alpha, A, rest, log1p_rest_exp_neg_log_alpha
    )
    sum_4 = (
        product_2
        + stirling_bregman_pair_3
        - stirling_bregman_pair_2
        - rest_p_stirling_slope_difference_2
    )
    condition_8 = xp.logical_and(
        xp.logical_and(
            xp.logical_and(xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), condition),
            condition_n_top,
        ),
        log_alpha_ge_m,
    )
    sum_A_scaled_R_first_R_second = over_A_scaled_R_first_plus_R_second + 1.0
    neg_piecewise_4 = -piecewise_4
    exp_bregman_3 = exp_bregman_generic(xp, xp.full_like(like, 0.0), neg_piecewise_4)
    product_3 = sum_A_scaled_R_first_R_second * exp_bregman_3
    product_4 = over_A_scaled_R_first_plus_R_second * piecewise_4
    sum_5 = B_exp_bregman_2 + product_log_alpha_log_alpha_p_2 + product_3 - product_4
    condition_A_B_log_alpha_m_n_top = xp.logical_and(
        xp.logical_and(xp.logical_and(condition_A, condition_B), condition_n_top), log_alpha_ge_m
    )
    exp_bregman_4 = exp_bregman_generic(xp, xp.full_like(like, 0.0), piecewise)
    exp_bregman_4_minus_B_exp_bregman_2 = exp_bregman_4 - B_exp_bregman_2
    condition_A_B_2 = xp.logical_and(condition_A, condition_B)
    stirling_bregman_pair_4 = stirling_bregman_pair_generic(
        xp, A, B, B_first_plus_B_second, piecewise
    )
    piecewise_5 = xp.where(
        condition_A_B_2, exp_bregman_4_minus_B_exp_bregman_2, stirling_bregman_pair_4
    )
    over_n_top_piecewise_5 = piecewise_5 / n_top
    sum_6 = piecewise_log_alpha_log_alpha_p - over_n_top_piecewise_5
    condition_A_B_log_alpha_m = xp.logical_and(
        xp.logical_and(condition_A, condition_B), log_alpha_ge_m
    )
    term = xp.where(
        condition_7,
        stirling_gap_difference_2,
        xp.where(
            condition_8,
            sum_4,
            xp.where(
                condition_A_B_log_alpha_m_n_top,
                sum_5,
                xp.where(condition_A_B_log_alpha_m, sum_6, piecewise_log_alpha_log_alpha_p),
            ),
        ),
    )
    F_sum = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    neg_log_alpha_p = -log_alpha_p
    exp_neg_log_alpha_p = xp.exp(neg_log_alpha_p)
    rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
    neg_log_alpha = -log_alpha
    exp_neg_log_alpha = xp.exp(neg_log_alpha)
    rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
    log1p_rest_p_exp_neg_log_alpha_p = xp.log1p(rest_p_exp_neg_log_alpha_p)
    log1p_rest_exp_neg_log_alpha = xp.log1p(rest_exp_neg_log_alpha)
    exp_bregman_split_2 = exp_bregman_split_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    log_alpha_ge_m = log_alpha >= m
    abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    neg_sum = -sum
    shift_step_lt_neg_sum = shift_step < neg_sum
    condition = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), abs_log_A_minus_log_B_gt_sum
                ),
                condition_n_top,
            ),
            log_alpha_ge_m,
        ),
        shift_step_lt_neg_sum,
    )
    inv_A = 1.0 / A
    B_inv_A = B * inv_A
    exp_log_alpha_p = xp.exp(log_alpha_p)
    exp_log_alpha = xp.exp(log_alpha)
    inv_A_exp_log_alpha = inv_A * exp_log_alpha
    log_inv_A_exp_log_alpha = xp.log(inv_A_exp_log_alpha)
    inv_B = 1.0 / B
    exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
    log_exp_log_alpha_p_inv_B = xp.log(exp_log_alpha_p_inv_B)
    abs_log_exp_log_alpha_p_inv_B = xp.abs(log_exp_log_alpha_p_inv_B)
    abs_log_inv_A_exp_log_alpha = xp.abs(log_inv_A_exp_log_alpha)
    sum_A_B_log_alpha_log_alpha_p = (
        abs_log_exp_log_alpha_p_inv_B + abs_log_inv_A_exp_log_alpha + 3.0
    )
    log_shifted = xp.log(shifted)
    log_B_minus_log_shifted = log_B - log_shifted
    abs_log_B_minus_log_shifted = xp.abs(log_B_minus_log_shifted)
    R_first_plus_R_second = R_first + R_second
    over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
    B_first_plus_B_second = B_first + B_second
    difference_of_differences_2 = difference_of_differences_generic(
        xp,
        log_inv_A_exp_log_alpha,
        log_exp_log_alpha_p_inv_B,
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
    )
    condition_A_B_log_alpha_log_alpha_p = abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
    condition_2 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
    condition_3 = xp.logical_and(condition_2, condition_A_B_log_alpha_log_alpha_p)
    log1p_A_scaled_R_first_R_second = xp.log1p(over_A_scaled_R_first_plus_R_second)
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    abs_A_scaled_R_first_R_second = xp.abs(over_A_scaled_R_first_plus_R_second)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition_4 = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    log_B_inv_A = xp.log(B_inv_A)
    condition_A_B = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition_4,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    neg_piecewise = -piecewise
    difference_of_differences_3 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), neg_piecewise
    )
    condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
    log1p_shift_step = xp.log1p(shift_step)
    condition_shift_step = shift_step >= -0.5
    inv_B_shifted = inv_B * shifted
    log_inv_B_shifted = xp.log(inv_B_shifted)
    product_B = 1e-300 * B
    shifted_ge_product_B = shifted >= product_B
    neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
    piecewise_B_shift_step_shifted = xp.where(
        condition_shift_step,
        log1p_shift_step,
        xp.where(shifted_ge_product_B, log_inv_B_shifted, neg_log_B_minus_log_shifted),
    )
    difference_of_differences_4 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, d_max, xp.full_like(like, 0.0), piecewise_B_shift_step_shifted
    )
    piecewise_2 = xp.where(
        condition_3,
        difference_of_differences_2,
        xp.where(condition_A_B_shifted, difference_of_differences_3, difference_of_differences_4),
    )
    exp_product_piecewise_2_log_alpha_p = exp_product_generic(xp, piecewise_2, log_alpha_p)
    exp_product_B_inv_A_log_alpha = exp_product_generic(xp, B_inv_A, log_alpha)
    sum_2 = exp_product_B_inv_A_log_alpha - exp_log_alpha_p - exp_product_piecewise_2_log_alpha_p
    condition_A_B_2 = B_inv_A < 1e308
    sum_A_B_log_alpha_log_alpha_p_2 = log_B + log_alpha + neg_log_alpha_p - log_A
    sum_A_B_log_alpha_log_alpha_p_2_gt_1 = sum_A_B_log_alpha_log_alpha_p_2 > 1.0
    condition_A_B_log_alpha_log_alpha_p_2 = xp.logical_and(
        condition_A_B_2, sum_A_B_log_alpha_log_alpha_p_2_gt_1
    )
    exp_bregman_split_3 = exp_bregman_split_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_3 = xp.where(condition, exp_bregman_split_2, exp_bregman_split_3)
    term = xp.where(
        condition,
        exp_bregman_split_2,
        xp.where(condition_A_B_log_alpha_log_alpha_p_2, sum_2, piecewise_3),
    )
    H_sum = xp.sum(xp.broadcast_to(term, like.shape), axis=-1, keepdims=True)
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    condition_A_B = xp.logical_and(condition_A, condition_B)
    R_first_plus_R_second = R_first + R_second
    over_A_scaled_R_first_plus_R_second = R_first_plus_R_second / A_scaled
    inv_A = 1.0 / A
    B_first_plus_B_second = B_first + B_second
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    log1p_A_scaled_R_first_R_second = xp.log1p(over_A_scaled_R_first_plus_R_second)
    abs_A_scaled_R_first_R_second = xp.abs(over_A_scaled_R_first_plus_R_second)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    B_inv_A = B * inv_A
    log_B_inv_A = xp.log(B_inv_A)
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    condition_A_B_2 = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B_2, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    condition_size = size < 1.5
    n_gap_gt_half = n_gap > 0.5
    condition_A_B_n_gap = xp.logical_or(condition_A_B, n_gap_gt_half)
    neg_piecewise = -piecewise
    exp_bregman_2 = exp_bregman_generic(xp, xp.full_like(like, 0.0), neg_piecewise)
    B_exp_bregman_2 = B * exp_bregman_2
    exp_bregman_3 = exp_bregman_generic(xp, xp.full_like(like, 0.0), piecewise)
    exp_bregman_3_minus_B_exp_bregman_2 = exp_bregman_3 - B_exp_bregman_2
    stirling_bregman_pair_2 = stirling_bregman_pair_generic(
        xp, A, B, B_first_plus_B_second, piecewise
    )
    piecewise_2 = xp.where(
        condition_A_B, exp_bregman_3_minus_B_exp_bregman_2, stirling_bregman_pair_2
    )
    piecewise_3 = xp.where(condition_A_B_n_gap, xp.full_like(like, 0.0), piecewise_2)
    F_sum_plus_H_sum_minus_piecewise_3 = F_sum + H_sum - piecewise_3
    result = xp.where(condition_size, xp.full_like(like, 0.0), F_sum_plus_H_sum_minus_piecewise_3)
    value = xp.broadcast_to(result, like.shape)[..., 0]
    condition_size = size < 1.5
    neg_log_alpha_p = -log_alpha_p
    log_alpha_plus_neg_log_alpha_p = log_alpha + neg_log_alpha_p
    neg_log_alpha_plus_neg_log_alpha_p = -log_alpha_plus_neg_log_alpha_p
    expm1_log_alpha_log_alpha_p = xp.expm1(neg_log_alpha_plus_neg_log_alpha_p)
    stirling_curvature_log_alpha = stirling_curvature_generic(xp, log_alpha)
    exp_log_alpha = xp.exp(log_alpha)
    exp_log_alpha_p = xp.exp(log_alpha_p)
    condition_log_alpha = exp_log_alpha < 8.673617379884035e-19
    condition_log_alpha_p = exp_log_alpha_p < 8.673617379884035e-19
    abs_log_alpha_plus_neg_log_alpha_p = xp.abs(log_alpha_plus_neg_log_alpha_p)
    condition_log_alpha_log_alpha_p = abs_log_alpha_plus_neg_log_alpha_p <= 1.0
    condition_log_alpha_log_alpha_p_2 = xp.logical_and(
        xp.logical_and(condition_log_alpha, condition_log_alpha_log_alpha_p), condition_log_alpha_p
    )
    stirling_curvature_at_A = stirling_curvature_at_generic(xp, A)
    inv_A_scaled = 1.0 / A_scaled
    R_first_plus_R_second = R_first + R_second
    R_first_plus_R_second_inv_A_scaled = R_first_plus_R_second * inv_A_scaled
    condition_A = A < 8.673617379884035e-19
    condition_B = B < 8.673617379884035e-19
    condition_A_B = xp.logical_and(condition_A, condition_B)
    B_first_plus_B_second = B_first + B_second
    inv_A = 1.0 / A
    exp_log_alpha_inv_A = exp_log_alpha * inv_A
    exp_neg_log_alpha_p = xp.exp(neg_log_alpha_p)
    rest_p_exp_neg_log_alpha_p = rest_p * exp_neg_log_alpha_p
    log1p_rest_p_exp_neg_log_alpha_p = xp.log1p(rest_p_exp_neg_log_alpha_p)
    neg_log_alpha = -log_alpha
    exp_neg_log_alpha = xp.exp(neg_log_alpha)
    rest_exp_neg_log_alpha = rest * exp_neg_log_alpha
    log1p_rest_exp_neg_log_alpha = xp.log1p(rest_exp_neg_log_alpha)
    exp_difference_split_2 = exp_difference_split_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    sum = rest_exp_neg_log_alpha + rest_p_exp_neg_log_alpha_p
    log_B = xp.log(B)
    log_A = xp.log(A)
    log_A_minus_log_B = log_A - log_B
    abs_log_A_minus_log_B = xp.abs(log_A_minus_log_B)
    log_alpha_ge_m = log_alpha >= m
    abs_log_A_minus_log_B_gt_sum = abs_log_A_minus_log_B > sum
    condition_n_top = n_top < 1.5
    twice_rest = 2.0 * rest
    A_ge_twice_rest = A >= twice_rest
    twice_rest_p = 2.0 * rest_p
    B_ge_twice_rest_p = B >= twice_rest_p
    neg_sum = -sum
    shift_step_lt_neg_sum = shift_step < neg_sum
    condition = xp.logical_and(
        xp.logical_and(
            xp.logical_and(
                xp.logical_and(
                    xp.logical_and(A_ge_twice_rest, B_ge_twice_rest_p), abs_log_A_minus_log_B_gt_sum
                ),
                condition_n_top,
            ),
            log_alpha_ge_m,
        ),
        shift_step_lt_neg_sum,
    )
    B_inv_A = B * inv_A
    log_exp_log_alpha_inv_A = xp.log(exp_log_alpha_inv_A)
    inv_B = 1.0 / B
    exp_log_alpha_p_inv_B = exp_log_alpha_p * inv_B
    log_exp_log_alpha_p_inv_B = xp.log(exp_log_alpha_p_inv_B)
    abs_log_exp_log_alpha_inv_A = xp.abs(log_exp_log_alpha_inv_A)
    abs_log_exp_log_alpha_p_inv_B = xp.abs(log_exp_log_alpha_p_inv_B)
    sum_A_B_log_alpha_log_alpha_p = (
        abs_log_exp_log_alpha_inv_A + abs_log_exp_log_alpha_p_inv_B + 3.0
    )
    log_shifted = xp.log(shifted)
    log_B_minus_log_shifted = log_B - log_shifted
    abs_log_B_minus_log_shifted = xp.abs(log_B_minus_log_shifted)
    log1p_A_scaled_R_first_R_second = xp.log1p(R_first_plus_R_second_inv_A_scaled)
    abs_A_scaled_R_first_R_second = xp.abs(R_first_plus_R_second_inv_A_scaled)
    condition_A_scaled_R_first_R_second = abs_A_scaled_R_first_R_second <= 0.5
    condition_2 = xp.logical_and(
        xp.logical_and(condition_A, condition_A_scaled_R_first_R_second), condition_B
    )
    B_first_plus_B_second_inv_A = B_first_plus_B_second * inv_A
    log1p_B_first_plus_B_second_inv_A = xp.log1p(B_first_plus_B_second_inv_A)
    abs_B_first_plus_B_second = xp.abs(B_first_plus_B_second)
    twice_abs_B_first_plus_B_second = 2.0 * abs_B_first_plus_B_second
    A_ge_twice_abs_B_first_plus_B_second = A >= twice_abs_B_first_plus_B_second
    log_B_inv_A = xp.log(B_inv_A)
    condition_A_B_2 = abs_log_A_minus_log_B < 700.0
    neg_log_A_minus_log_B = -log_A_minus_log_B
    piecewise = xp.where(
        condition_2,
        log1p_A_scaled_R_first_R_second,
        xp.where(
            A_ge_twice_abs_B_first_plus_B_second,
            log1p_B_first_plus_B_second_inv_A,
            xp.where(condition_A_B_2, log_B_inv_A, neg_log_A_minus_log_B),
        ),
    )
    difference_of_differences_2 = difference_of_differences_generic(
        xp,
        log_exp_log_alpha_inv_A,
        log_exp_log_alpha_p_inv_B,
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
        xp.full_like(like, 0.0),
    )
    condition_A_B_log_alpha_log_alpha_p = abs_log_A_minus_log_B > sum_A_B_log_alpha_log_alpha_p
    condition_3 = abs_log_B_minus_log_shifted > sum_A_B_log_alpha_log_alpha_p
    condition_4 = xp.logical_and(condition_3, condition_A_B_log_alpha_log_alpha_p)
    neg_piecewise = -piecewise
    difference_of_differences_3 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, xp.full_like(like, 0.0), xp.full_like(like, 0.0), neg_piecewise
    )
    condition_A_B_shifted = abs_log_A_minus_log_B < abs_log_B_minus_log_shifted
    log1p_shift_step = xp.log1p(shift_step)
    condition_shift_step = shift_step >= -0.5
    inv_B_shifted = inv_B * shifted
    log_inv_B_shifted = xp.log(inv_B_shifted)
    product_B = 1e-300 * B
    shifted_ge_product_B = shifted >= product_B
    neg_log_B_minus_log_shifted = -log_B_minus_log_shifted
    piecewise_B_shift_step_shifted = xp.where(
        condition_shift_step,
        log1p_shift_step,
        xp.where(shifted_ge_product_B, log_inv_B_shifted, neg_log_B_minus_log_shifted),
    )
    difference_of_differences_4 = difference_of_differences_generic(
        xp, log_alpha, log_alpha_p, d_max, xp.full_like(like, 0.0), piecewise_B_shift_step_shifted
    )
    piecewise_2 = xp.where(
        condition_4,
        difference_of_differences_2,
        xp.where(condition_A_B_shifted, difference_of_differences_3, difference_of_differences_4),
    )
    product_log_alpha_log_alpha_p = expm1_log_alpha_log_alpha_p * stirling_curvature_log_alpha
    exp_product_log_alpha_log_alpha_p = exp_product_generic(
        xp, product_log_alpha_log_alpha_p, log_alpha
    )
    exp_difference_log_alpha_p_log_alpha = exp_difference_generic(xp, log_alpha_p, log_alpha)
    product_log_alpha_log_alpha_p_2 = (
        stirling_curvature_log_alpha * exp_difference_log_alpha_p_log_alpha
    )
    piecewise_log_alpha_log_alpha_p = xp.where(
        condition_log_alpha_log_alpha_p_2,
        exp_product_log_alpha_log_alpha_p,
        product_log_alpha_log_alpha_p_2,
    )
    product_A_A_scaled_R_first_R_second = (
        R_first_plus_R_second_inv_A_scaled * stirling_curvature_at_A
    )
    exp_product_2 = exp_product_generic(xp, product_A_A_scaled_R_first_R_second, log_alpha)
    product_A_B_first_B_second_log_alpha = (
        B_first_plus_B_second * exp_log_alpha_inv_A * stirling_curvature_at_A
    )
    piecewise_3 = xp.where(condition_A_B, exp_product_2, product_A_B_first_B_second_log_alpha)
    exp_product_B_inv_A_log_alpha = exp_product_generic(xp, B_inv_A, log_alpha)
    sum_A_B_log_alpha_log_alpha_p_2 = exp_product_B_inv_A_log_alpha - exp_log_alpha_p
    condition_A_B_3 = B_inv_A < 1e308
    sum_A_B_log_alpha_log_alpha_p_3 = log_B + log_alpha_plus_neg_log_alpha_p - log_A
    sum_A_B_log_alpha_log_alpha_p_3_gt_1 = sum_A_B_log_alpha_log_alpha_p_3 > 1.0
    condition_A_B_log_alpha_log_alpha_p_2 = xp.logical_and(
        condition_A_B_3, sum_A_B_log_alpha_log_alpha_p_3_gt_1
    )
    exp_difference_split_3 = exp_difference_split_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_4 = xp.where(condition, exp_difference_split_2, exp_difference_split_3)
    piecewise_5 = xp.where(
        condition,
        exp_difference_split_2,
        xp.where(
            condition_A_B_log_alpha_log_alpha_p_2, sum_A_B_log_alpha_log_alpha_p_2, piecewise_4
        ),
    )
    sum_2 = piecewise_3 + piecewise_5 - piecewise_log_alpha_log_alpha_p
    dlog_alpha = xp.where(condition_size, xp.full_like(like, 0.0), sum_2)
    product_A_scaled_B_R_first_R_second = R_first_plus_R_second * inv_A_scaled * inv_B
    sum_3 = product_A_scaled_B_R_first_R_second - piecewise
    stirling_slope_difference_pair_2 = stirling_slope_difference_pair_generic(
        xp, A, B, B_first_plus_B_second, piecewise
    )
    piecewise_6 = xp.where(condition_A_B, sum_3, stirling_slope_difference_pair_2)
    difference_sum_2 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, log1p_rest_p_exp_neg_log_alpha_p, log1p_rest_exp_neg_log_alpha
    )
    difference_sum_3 = difference_sum_generic(
        xp, log_alpha_p, log_alpha_p, piecewise_2, xp.full_like(like, 0.0)
    )
    piecewise_7 = xp.where(condition, difference_sum_2, difference_sum_3)
    exp_product_log_alpha_log_alpha_p_2 = exp_product_generic(
        xp, expm1_log_alpha_log_alpha_p, neg_log_alpha_p
    )
    sum_log_alpha_log_alpha_p = log_alpha_plus_neg_log_alpha_p + exp_product_log_alpha_log_alpha_p_2
    stirling_slope_difference_2 = stirling_slope_difference_generic(xp, log_alpha, log_alpha_p)
    piecewise_log_alpha_log_alpha_p_2 = xp.where(
        condition_log_alpha_log_alpha_p_2, sum_log_alpha_log_alpha_p, stirling_slope_difference_2
    )
    sum_4 = piecewise_log_alpha_log_alpha_p_2 - piecewise_6 - piecewise_7
    exp_product_sum_4_log_alpha_p = exp_product_generic(xp, sum_4, log_alpha_p)
    dlog_alpha_p = xp.where(condition_size, xp.full_like(like, 0.0), exp_product_sum_4_log_alpha_p)
    grads = (
        xp.broadcast_to(dlog_alpha, like.shape),
        xp.broadcast_to(dlog_alpha_p, like.shape),
    )
    return value, grads


_ROWS_GENERIC = {
    "value": _value_lines,
    "grad": _grad_lines,
    "value_and_grad": _value_and_grad_lines,
}
